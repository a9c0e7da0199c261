package main

// Pod networking across nodes, as flannel's host-gw backend does it: every
// node's pods live in the /24 the controller manager allocated to it (its
// spec.podCIDR), bridged locally by the CNI bridge plugin, and every node
// routes the other nodes' /24s via their addresses. Node containers share one
// Docker network, so no encapsulation is needed.

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const cniConfigPath = "/etc/cni/net.d/10-kubenode.conflist"

// ensureCNIConfig writes the CNI configuration for this node's pod CIDR
// unless it is already there (written whole, then renamed, as kubelet polls it).
func (n *node) ensureCNIConfig(cidr string) error {
	want := cniConfig(cidr)
	if have, err := os.ReadFile(cniConfigPath); err == nil && string(have) == want {
		return nil
	}
	if err := writeFile(cniConfigPath+".tmp", want, 0o644); err != nil {
		return err
	}
	logf("pods on %s get addresses in %s", n.opts.nodeName, cidr)
	return os.Rename(cniConfigPath+".tmp", cniConfigPath)
}

// syncNetwork keeps this node's CNI configuration and its routes to the other
// nodes' pods in step with the Node objects, every 2 s until ctx ends. A node
// that comes back with another address gets its route replaced.
func (n *node) syncNetwork(ctx context.Context, client kubernetes.Interface) {
	routed := map[string]string{} // pod CIDR -> the node address it is routed via
	for {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, other := range nodes.Items {
				cidr := other.Spec.PodCIDR
				if cidr == "" {
					continue
				}
				if other.Name == n.opts.nodeName {
					if err := n.ensureCNIConfig(cidr); err != nil {
						logf("writing the CNI configuration: %v", err)
					}
					continue
				}
				via := internalIP(&other)
				if via == "" || routed[cidr] == via {
					continue
				}
				if out, err := exec.CommandContext(ctx, "ip", "route", "replace", cidr, "via", via).CombinedOutput(); err != nil {
					logf("routing %s via %s (node %s): %v: %s", cidr, via, other.Name, err, strings.TrimSpace(string(out)))
					continue
				}
				routed[cidr] = via
				logf("pods of node %s (%s) routed via %s", other.Name, cidr, via)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

func internalIP(node *corev1.Node) string {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}
