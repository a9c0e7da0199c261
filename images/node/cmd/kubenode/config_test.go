package main

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	proxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

func TestKubeletConfigRoundTrips(t *testing.T) {
	data, err := yaml.Marshal(kubeletConfig("/tls/ca.crt", "/storage-conformance/node-1", "10.43.0.10", containerdSocket))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"apiVersion: kubelet.config.k8s.io/v1beta1\n",
		"kind: KubeletConfiguration\n",
		"cgroupRoot: /storage-conformance/node-1\n",
		"containerRuntimeEndpoint: unix:///run/k3s/containerd/containerd.sock\n",
		"nodefs.available: 1%\n",
		"resolvConf: /etc/resolv.conf\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("kubelet.yaml lacks %q:\n%s", want, text)
		}
	}
	var back kubeletv1beta1.KubeletConfiguration
	if err := yaml.UnmarshalStrict(data, &back); err != nil {
		t.Fatalf("the kubelet's own type does not read kubelet.yaml back strictly: %v", err)
	}
	if *back.Authentication.Anonymous.Enabled || !*back.Authentication.Webhook.Enabled || back.Authentication.X509.ClientCAFile != "/tls/ca.crt" {
		t.Errorf("authentication read back as %+v", back.Authentication)
	}
	if *back.FailSwapOn || *back.FailCgroupV1 || *back.SerializeImagePulls || *back.OOMScoreAdj != 0 || *back.ImageGCHighThresholdPercent != 100 {
		t.Errorf("settings read back wrong: failSwapOn=%v failCgroupV1=%v serializeImagePulls=%v oomScoreAdj=%d imageGCHigh=%d",
			*back.FailSwapOn, *back.FailCgroupV1, *back.SerializeImagePulls, *back.OOMScoreAdj, *back.ImageGCHighThresholdPercent)
	}
	if back.ClusterDNS[0] != "10.43.0.10" || back.EvictionHard["memory.available"] != "1Mi" {
		t.Errorf("clusterDNS %v, evictionHard %v", back.ClusterDNS, back.EvictionHard)
	}
}

func TestProxyConfigRoundTrips(t *testing.T) {
	data, err := yaml.Marshal(proxyConfig("/creds/kube-proxy.kubeconfig", "node-1"))
	if err != nil {
		t.Fatal(err)
	}
	var back proxyv1alpha1.KubeProxyConfiguration
	if err := yaml.UnmarshalStrict(data, &back); err != nil {
		t.Fatalf("kube-proxy's own type does not read kube-proxy.yaml back strictly: %v", err)
	}
	if back.Kind != "KubeProxyConfiguration" || back.Mode != "iptables" || back.ClusterCIDR != clusterCIDR || back.HostnameOverride != "node-1" ||
		back.ClientConnection.Kubeconfig != "/creds/kube-proxy.kubeconfig" || back.Conntrack.MaxPerCore == nil || *back.Conntrack.MaxPerCore != 0 {
		t.Errorf("kube-proxy.yaml read back as %+v\n%s", back, data)
	}
}

func TestKubeconfigRoundTrips(t *testing.T) {
	text, err := renderKubeconfig("https://127.0.0.1:6443", []byte("ca-pem"), []byte("cert-pem"), []byte("key-pem"))
	if err != nil {
		t.Fatal(err)
	}
	config, err := clientcmd.Load([]byte(text))
	if err != nil {
		t.Fatalf("client-go does not read the kubeconfig back: %v\n%s", err, text)
	}
	ctx := config.Contexts[config.CurrentContext]
	if ctx == nil || config.Clusters[ctx.Cluster].Server != "https://127.0.0.1:6443" || string(config.Clusters[ctx.Cluster].CertificateAuthorityData) != "ca-pem" ||
		string(config.AuthInfos[ctx.AuthInfo].ClientCertificateData) != "cert-pem" || string(config.AuthInfos[ctx.AuthInfo].ClientKeyData) != "key-pem" {
		t.Errorf("kubeconfig read back wrong:\n%s", text)
	}
	// K3sContainer rewrites the server line of the kubeconfig it copies out.
	if !strings.Contains(text, "server: https://127.0.0.1:6443\n") {
		t.Errorf("no plain server line:\n%s", text)
	}
}
