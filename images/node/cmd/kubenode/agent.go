package main

// The `agent` command: what `k3s agent --server URL --token TOKEN` does, built
// from upstream components. The agent joins the server's cluster as a worker
// node (containerd, kubelet, kube-proxy, the same images as the server) with
// credentials the server signs for it (join.go).

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func parseAgentFlags(args []string) (*serverOptions, error) {
	opts := &serverOptions{serverURL: os.Getenv("K3S_URL"), token: os.Getenv("K3S_TOKEN")}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.StringVar(&opts.serverURL, "server", opts.serverURL, "the server's apiserver URL, e.g. https://10.0.0.2:6443 (or K3S_URL)")
	fs.StringVar(&opts.token, "token", opts.token, "the server's node token, from its /var/lib/rancher/k3s/server/node-token (or K3S_TOKEN)")
	fs.StringVar(&opts.nodeName, "node-name", "", "node name (default: hostname)")
	fs.Var(&opts.kubeletArgs, "kubelet-arg", "extra kubelet flag, KEY=VALUE (repeatable)")
	var ignored stringList
	for _, name := range []string{"snapshotter", "debug", "flannel-iface"} {
		fs.Var(&ignored, name, "accepted for k3s compatibility, ignored")
	}
	if err := fs.Parse(normaliseBoolFlags(args)); err != nil {
		return nil, err
	}
	if opts.serverURL == "" || opts.token == "" {
		return nil, fmt.Errorf("an agent needs --server (or K3S_URL) and --token (or K3S_TOKEN)")
	}
	return opts, opts.defaultNodeName()
}

func agentMain(args []string) int {
	opts, err := parseAgentFlags(args)
	if err != nil {
		logf("bad arguments: %v", err)
		return 2
	}
	node := &node{opts: opts, agent: true}
	return runUntilSignalled(node, node.runAgent)
}

func (n *node) runAgent(ctx context.Context) error {
	started := time.Now()
	if err := n.prepareHost(); err != nil {
		return err
	}
	if err := n.mountLazyLayers(ctx); err != nil {
		return err
	}
	creds, err := fetchCredentials(ctx, n.opts.serverURL, n.opts.token, n.opts.nodeName, n.ip, 120*time.Second)
	if err != nil {
		return err
	}
	n.tls = filepath.Join(dataDir, "agent/tls")
	n.credDir = filepath.Join(dataDir, "agent/cred")
	if err := writeFile(n.tlsFile("ca.crt"), creds.CA, 0o644); err != nil {
		return err
	}
	for name, pair := range map[string]keyPair{"kubelet": creds.Kubelet, "kube-proxy": creds.KubeProxy} {
		config, err := renderKubeconfig(n.opts.serverURL, []byte(creds.CA), []byte(pair.Cert), []byte(pair.Key))
		if err != nil {
			return err
		}
		if err := writeFile(n.kubeconfig(name), config, 0o600); err != nil {
			return err
		}
	}
	switch {
	case creds.NetworkPolicyDisabled:
		n.opts.disable = append(n.opts.disable, netpolComponent)
	case creds.KubeRouter == nil:
		n.netpolOff = "the server handed no kube-router credentials (a server without network policy support)"
	default:
		config, err := renderKubeconfig(n.opts.serverURL, []byte(creds.CA), []byte(creds.KubeRouter.Cert), []byte(creds.KubeRouter.Key))
		if err != nil {
			return err
		}
		if err := writeFile(n.kubeconfig(netpolProgram), config, 0o600); err != nil {
			return err
		}
	}
	logf("joined %s as node %s (%s) after %s", n.opts.serverURL, n.opts.nodeName, n.ip, since(started))
	if err := n.startContainerd(); err != nil {
		return err
	}
	imported := make(chan error, 1)
	go func() { imported <- n.importImages(ctx, requiredImages()) }()
	kubeletArgs, err := n.kubeletArgs()
	if err != nil {
		return err
	}
	if err := n.start("kubelet", kubeletArgs...); err != nil {
		return err
	}
	proxyArgs, err := n.proxyArgs()
	if err != nil {
		return err
	}
	if err := n.start("kube-proxy", proxyArgs...); err != nil {
		return err
	}
	// kube-proxy's identity (system:node-proxier) may list every node, which
	// routing needs and a kubelet's identity is not granted.
	client, err := clientFor(n.kubeconfig("kube-proxy"))
	if err != nil {
		return err
	}
	go n.syncNetwork(ctx, client)
	if err := <-imported; err != nil {
		return fmt.Errorf("importing images: %w", err)
	}
	if err := n.waitNodeReady(ctx, client); err != nil {
		return err
	}
	n.startCSI(ctx) // the driver only: the server's sidecars serve the cluster
	awaitNetpol(ctx, n.startNetpol(ctx))
	logf("agent %s Ready after %s", n.opts.nodeName, since(started))
	return n.serve(ctx)
}
