package main

// DELETE THIS FILE WHEN MERGING WITH MAIN: main's supervisor.go defines
// startProgram (with this signature and body); this copy only lets the
// helper-csi branch, which predates that split, build csi.go.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// startProgram runs another program of the node the same way as start.
func (n *node) startProgram(name, program string, args ...string) error {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(program, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	n.mu.Lock()
	n.processes = append(n.processes, p)
	n.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
		select {
		case n.exited <- p:
		default:
		}
	}()
	return nil
}
