package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	componentbasev1alpha1 "k8s.io/component-base/config/v1alpha1"
	proxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

type urlT = url.URL

func parseURL(s string) (urlT, error) {
	u, err := url.Parse(s)
	if err != nil {
		return urlT{}, err
	}
	return *u, nil
}

const containerdSocket = "/run/k3s/containerd/containerd.sock"

func (n *node) tlsFile(name string) string { return filepath.Join(n.tls, name) }

func (n *node) apiserverArgs() []string {
	return []string{
		"--advertise-address=" + n.ip.String(),
		"--bind-address=0.0.0.0",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--etcd-servers=http://127.0.0.1:2379",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--client-ca-file=" + n.tlsFile("ca.crt"),
		"--tls-cert-file=" + n.tlsFile("apiserver.crt"),
		"--tls-private-key-file=" + n.tlsFile("apiserver.key"),
		"--kubelet-client-certificate=" + n.tlsFile("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + n.tlsFile("apiserver-kubelet-client.key"),
		"--service-account-key-file=" + n.tlsFile("service-account.pub"),
		"--service-account-signing-key-file=" + n.tlsFile("service-account.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--api-audiences=https://kubernetes.default.svc.cluster.local",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--anonymous-auth=false",
		"--profiling=false",
		"--endpoint-reconciler-type=lease",
		// Agents' host names resolve nowhere but in their own containers.
		"--kubelet-preferred-address-types=InternalIP,Hostname",
	}
}

func (n *node) controllerManagerArgs() []string {
	kc := n.kubeconfig("controller-manager")
	return []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1",
		"--cluster-signing-cert-file=" + n.tlsFile("ca.crt"),
		"--cluster-signing-key-file=" + n.tlsFile("ca.key"),
		"--root-ca-file=" + n.tlsFile("ca.crt"),
		"--service-account-private-key-file=" + n.tlsFile("service-account.key"),
		"--use-service-account-credentials=true",
		"--allocate-node-cidrs=true",
		"--cluster-cidr=" + clusterCIDR,
		"--node-cidr-mask-size=24",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--leader-elect=false",
		"--profiling=false",
	}
}

func (n *node) schedulerArgs() []string {
	kc := n.kubeconfig("scheduler")
	return []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1",
		"--leader-elect=false",
		"--profiling=false",
	}
}

// kubeletConfig is the kubelet's configuration file, typed (KubeletConfiguration v1beta1).
func kubeletConfig(caFile, cgroupRoot, dns, socket string) kubeletv1beta1.KubeletConfiguration {
	no, yes := false, true
	return kubeletv1beta1.KubeletConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration"},
		Authentication: kubeletv1beta1.KubeletAuthentication{
			Anonymous: kubeletv1beta1.KubeletAnonymousAuthentication{Enabled: &no},
			Webhook:   kubeletv1beta1.KubeletWebhookAuthentication{Enabled: &yes},
			X509:      kubeletv1beta1.KubeletX509Authentication{ClientCAFile: caFile},
		},
		Authorization:            kubeletv1beta1.KubeletAuthorization{Mode: kubeletv1beta1.KubeletAuthorizationModeWebhook},
		CgroupDriver:             "cgroupfs",
		CgroupRoot:               cgroupRoot,
		ClusterDNS:               []string{dns},
		ClusterDomain:            "cluster.local",
		ContainerRuntimeEndpoint: "unix://" + socket,
		FailSwapOn:               &no,
		FailCgroupV1:             &no,
		OOMScoreAdj:              ptr(int32(0)),
		ProtectKernelDefaults:    false,
		ResolverConfig:           ptr("/etc/resolv.conf"),
		SerializeImagePulls:      &no,
		// Laptops and CI runners run with full disks more often than nodes do; a test
		// cluster must not evict MySQL for it.
		EvictionHard:                map[string]string{"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
		ImageGCHighThresholdPercent: ptr(int32(100)),
		ImageGCLowThresholdPercent:  ptr(int32(99)),
	}
}

// proxyConfig is kube-proxy's configuration file, typed (KubeProxyConfiguration v1alpha1).
func proxyConfig(kubeconfig, nodeName string) proxyv1alpha1.KubeProxyConfiguration {
	return proxyv1alpha1.KubeProxyConfiguration{
		TypeMeta:         metav1.TypeMeta{APIVersion: "kubeproxy.config.k8s.io/v1alpha1", Kind: "KubeProxyConfiguration"},
		ClientConnection: componentbasev1alpha1.ClientConnectionConfiguration{Kubeconfig: kubeconfig},
		Mode:             "iptables",
		ClusterCIDR:      clusterCIDR,
		HostnameOverride: nodeName,
		// A node container must not tune the host's conntrack table.
		Conntrack: proxyv1alpha1.KubeProxyConntrackConfiguration{MaxPerCore: ptr(int32(0))},
	}
}

func ptr[T any](v T) *T { return &v }

// writeYAML writes a typed configuration as YAML (sigs.k8s.io/yaml: the JSON field names).
func writeYAML(path string, config any) error {
	data, err := yaml.Marshal(config)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := writeFile(path, string(data), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func (n *node) kubeletArgs() ([]string, error) {
	path := filepath.Join(dataDir, "agent/kubelet.yaml")
	if err := writeYAML(path, kubeletConfig(n.tlsFile("ca.crt"), cgroupRoot(n.opts.nodeName), clusterDNS, containerdSocket)); err != nil {
		return nil, err
	}
	args := []string{
		"--config=" + path,
		"--kubeconfig=" + n.kubeconfig("kubelet"),
		"--hostname-override=" + n.opts.nodeName,
		"--node-ip=" + n.ip.String(),
	}
	for _, a := range n.opts.kubeletArgs {
		args = append(args, "--"+strings.TrimPrefix(a, "--"))
	}
	return args, nil
}

func (n *node) proxyArgs() ([]string, error) {
	path := filepath.Join(dataDir, "agent/kube-proxy.yaml")
	if err := writeYAML(path, proxyConfig(n.kubeconfig("kube-proxy"), n.opts.nodeName)); err != nil {
		return nil, err
	}
	return []string{"--config=" + path}, nil
}

func cniConfig(podCIDR string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "kubenode",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR)
}

// restrictOOMScoreAdj is true when this container may not lower OOM scores
// (no CAP_SYS_RESOURCE, as on machines where Docker's privileged mode fails):
// containerd then clamps the scores kubelet asks for instead of failing pods.
func restrictOOMScoreAdj() bool {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "CapEff:") {
			caps, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "CapEff:")), 16, 64)
			return err != nil || caps&(1<<24) == 0 // CAP_SYS_RESOURCE = 24
		}
	}
	return true
}

func containerdConfig(restrictOOM bool) string {
	return fmt.Sprintf(`version = 3
root = "/var/lib/containerd"
state = "/run/k3s/containerd"

[grpc]
  address = %q

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = %q

[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = %t
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/opt/cni/bin"]
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      SystemdCgroup = false
`, containerdSocket, sandboxImage, restrictOOM)
}
