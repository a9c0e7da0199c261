package main

// The supervisor: every component runs as a child process whose output goes to
// /var/log/kubenode/NAME.log; a component that exits ends the node (an
// optional one, such as the network policy controller, calls its onExit
// instead), and shutdown stops them in the reverse order of their start.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	err  error
	done chan struct{} // closed once the process has exited
	// onExit, when set, is called when the process exits while the node is not
	// stopping, instead of ending the node.
	onExit func(error)
}

// start runs one of this binary's components (kube-apiserver, kubelet...) as a
// child whose output goes to /var/log/kubenode/NAME.log.
func (n *node) start(name string, args ...string) error {
	return n.startProgram(name, "/proc/self/exe", append([]string{name}, args...)...)
}

// startProgram runs another program of the node (containerd, lazyfs) the same way.
func (n *node) startProgram(name, program string, args ...string) error {
	return n.launch(name, program, nil, args...)
}

// startOptionalProgram runs a program whose exit does not end the node: onExit
// is called with how it ended (not when the node is stopping).
func (n *node) startOptionalProgram(name, program string, onExit func(error), args ...string) error {
	return n.launch(name, program, onExit, args...)
}

func (n *node) launch(name, program string, onExit func(error), args ...string) error {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(program, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Under the lock, so shutdown either sees this process or it never starts.
	n.mu.Lock()
	if n.stopping {
		n.mu.Unlock()
		logFile.Close()
		return fmt.Errorf("not starting %s: the node is stopping", name)
	}
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		logFile.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{}), onExit: onExit}
	n.processes = append(n.processes, p)
	n.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
		if p.onExit != nil {
			n.mu.Lock()
			stopping := n.stopping
			n.mu.Unlock()
			if !stopping {
				p.onExit(p.err)
			}
			return
		}
		select {
		case n.exited <- p:
		default:
		}
	}()
	return nil
}

// waitFor polls check until it reports done, the deadline passes, or a
// component dies; the error names what was awaited and the last state seen.
func (n *node) waitFor(ctx context.Context, what string, timeout time.Duration, check func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		done, state := check()
		if done {
			return nil
		}
		last = state
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s; last seen: %s", timeout, what, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-n.exited:
			return fmt.Errorf("%s exited while waiting for %s: %v; last lines of %s:\n%s", p.name, what, p.err, p.log, tail(p.log, 30))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// shutdown stops kubelet before the control plane and containerd last, then
// removes the pods' cgroups so nothing is left on the host.
func (n *node) shutdown() {
	n.mu.Lock()
	n.stopping = true // no process starts any more, and no onExit runs
	procs := append([]*process(nil), n.processes...)
	n.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	removeCgroups(cgroupRoot(n.opts.nodeName))
	if n.etcd != nil {
		n.etcd.Close()
	}
}

func tail(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var ring []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ring = append(ring, sc.Text())
		if len(ring) > lines {
			ring = ring[1:]
		}
	}
	return strings.Join(ring, "\n")
}
