package main

// The `server` command: what k3s's `k3s server` does for a single node, built
// from upstream components. It keeps the k3s contract that @testcontainers/k3s
// relies on: `server --disable=...`, /etc/rancher/k3s/k3s.yaml, and the log line
// "Node controller sync successful" once the node is Ready.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	dataDir        = "/var/lib/rancher/k3s"
	kubeconfigPath = "/etc/rancher/k3s/k3s.yaml"
	runDir         = "/run/kubenode" // markers and sockets the suite reads (a tmpfs: gone at every start)
	clusterCIDR    = "10.42.0.0/16"
	podCIDR        = "10.42.0.0/24" // the one node gets the first /24 of clusterCIDR
	serviceCIDR    = "10.43.0.0/16"
	kubernetesSvc  = "10.43.0.1"
	clusterDNS     = "10.43.0.10"
	apiPort        = 6443
	sandboxImage   = "registry.k8s.io/pause:3.10.1"
	readyTimeout   = 150 * time.Second
)

// logDir holds every component's log, NAME.log (a variable for tests).
var logDir = "/var/log/kubenode"

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

type serverOptions struct {
	disable     stringList
	kubeletArgs stringList
	nodeName    string
	tlsSANs     stringList
	serverURL   string // agents: the server to join
	token       string // agents: the server's node token
}

func logf(format string, args ...any) {
	fmt.Printf("%s kubenode: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

func parseServerFlags(args []string) (*serverOptions, error) {
	opts := &serverOptions{}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.Var(&opts.disable, "disable", "packaged component not to deploy (k3s compatible; repeatable)")
	fs.Var(&opts.kubeletArgs, "kubelet-arg", "extra kubelet flag, KEY=VALUE (repeatable)")
	fs.StringVar(&opts.nodeName, "node-name", "", "node name (default: hostname)")
	fs.Var(&opts.tlsSANs, "tls-san", "extra host name or IP in the apiserver's serving certificate (repeatable, comma-separated)")
	fs.Func("disable-network-policy", "k3s's flag: no NetworkPolicy enforcement on any node (as --disable="+netpolComponent+")", func(v string) error {
		on, err := strconv.ParseBool(v)
		if err == nil && on {
			opts.disable = append(opts.disable, netpolComponent)
		}
		return err
	})
	// k3s flags that mean nothing here are accepted and reported, so K3sContainer
	// options written for k3s do not break the offline node.
	var ignored stringList
	for _, name := range []string{"write-kubeconfig-mode", "flannel-backend", "snapshotter", "cluster-init", "debug"} {
		fs.Var(&ignored, name, "accepted for k3s compatibility, ignored")
	}
	if err := fs.Parse(normaliseBoolFlags(args)); err != nil {
		return nil, err
	}
	if len(ignored) > 0 {
		logf("ignoring k3s flags with no meaning on this node: %s", ignored.String())
	}
	return opts, opts.defaultNodeName()
}

// defaultNodeName names the node after its host, as k3s does, unless --node-name did.
func (o *serverOptions) defaultNodeName() error {
	if o.nodeName != "" {
		return nil
	}
	host, err := os.Hostname()
	o.nodeName = strings.ToLower(host)
	return err
}

// normaliseBoolFlags turns k3s's bare boolean flags into KEY=true so the
// string-valued ignore list accepts them.
func normaliseBoolFlags(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		switch a {
		case "--cluster-init", "--disable-network-policy", "--debug":
			a += "=true"
		}
		out = append(out, a)
	}
	return out
}

func (o *serverOptions) disabled(component string) bool {
	for _, d := range o.disable {
		if d == component {
			return true
		}
	}
	return false
}

// nodeIP is the container's first non-loopback IPv4 address: what the apiserver
// advertises and what pods reach the `kubernetes` Service through.
func nodeIP() (net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP, nil
		}
	}
	return nil, errors.New("the container has no IPv4 address besides loopback")
}

// defaultGateway is the container's default route: on a Docker bridge, the
// address a client in a sibling container reaches published ports through.
func defaultGateway() net.IP {
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != "00000000" {
			continue
		}
		var gw uint32
		if _, err := fmt.Sscanf(f[2], "%X", &gw); err != nil || gw == 0 {
			continue
		}
		// /proc/net/route prints the address in host (little-endian) order.
		return net.IPv4(byte(gw), byte(gw>>8), byte(gw>>16), byte(gw>>24))
	}
	return nil
}

func serverMain(args []string) int {
	opts, err := parseServerFlags(args)
	if err != nil {
		logf("bad arguments: %v", err)
		return 2
	}
	node := &node{opts: opts}
	return runUntilSignalled(node, node.run)
}

// runUntilSignalled runs a node until it fails or SIGTERM/SIGINT arrives, then
// stops every process it started; the exit code says which.
func runUntilSignalled(n *node, run func(context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := run(ctx)
	n.shutdown()
	if err != nil && ctx.Err() == nil {
		logf("fatal: %v", err)
		return 1
	}
	logf("stopped")
	return 0
}

func mkdirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), mode)
}
