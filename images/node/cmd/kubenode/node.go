package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// node owns every process of a server or agent node and stops them in order.
type node struct {
	opts      *serverOptions
	agent     bool   // joined to a server (`kubenode agent`) instead of running the control plane
	tls       string // the CA and certificates
	credDir   string // the components' kubeconfigs
	ca        *authority
	ip        net.IP
	etcd      *embed.Etcd
	mu        sync.Mutex
	stopping  bool   // set by shutdown: nothing starts any more
	netpolOff string // why this node will not enforce NetworkPolicy, known before startNetpol
	processes []*process
	exited    chan *process
}

func (n *node) run(ctx context.Context) error {
	started := time.Now()
	if err := n.prepareHost(); err != nil {
		return err
	}
	if err := n.mountLazyLayers(ctx); err != nil {
		return err
	}
	if err := n.writePKI(); err != nil {
		return fmt.Errorf("creating certificates: %w", err)
	}
	secret, err := n.writeNodeToken()
	if err != nil {
		return fmt.Errorf("writing the node token: %w", err)
	}
	if err := n.startEtcd(); err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	if err := n.startContainerd(); err != nil {
		return err
	}
	imported := make(chan error, 1)
	go func() { imported <- n.importImages(ctx, requiredImages()) }()
	if err := n.start("kube-apiserver", n.apiserverArgs()...); err != nil {
		return err
	}
	client, err := n.adminClient()
	if err != nil {
		return err
	}
	if err := n.waitFor(ctx, "kube-apiserver to be ready", 90*time.Second, func() (bool, string) {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, err.Error()
		}
		return true, string(body)
	}); err != nil {
		return err
	}
	logf("kube-apiserver ready after %s", since(started))
	n.prepareNetpol(ctx, client) // before serveJoin: every node's kube-router needs its RBAC
	if err := n.serveJoin(ctx, secret); err != nil {
		return err
	}
	go n.syncNetwork(ctx, client)
	kubeletArgs, err := n.kubeletArgs()
	if err != nil {
		return err
	}
	proxyArgs, err := n.proxyArgs()
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", n.controllerManagerArgs()},
		{"kube-scheduler", n.schedulerArgs()},
		{"kubelet", kubeletArgs},
		{"kube-proxy", proxyArgs},
	} {
		if err := n.start(c.name, c.args...); err != nil {
			return err
		}
	}
	if err := <-imported; err != nil {
		return fmt.Errorf("importing images: %w", err)
	}
	if err := n.waitNodeReady(ctx, client); err != nil {
		return err
	}
	n.startCSI(ctx) // before applyManifests: without loop devices the class is not deployed
	netpolSettled := n.startNetpol(ctx)
	if err := n.applyManifests(ctx); err != nil {
		return err
	}
	awaitNetpol(ctx, netpolSettled) // Ready means NetworkPolicy enforced, or netpolUnavailable says why not
	logf("node %s Ready after %s", n.opts.nodeName, since(started))
	// The line @testcontainers/k3s waits for; printed only once the node is Ready
	// and the packaged manifests are applied.
	fmt.Println("Node controller sync successful")
	return n.serve(ctx)
}

// serve imports the deferred images, then runs until the context ends or a
// component exits.
func (n *node) serve(ctx context.Context) error {
	deferredDone := make(chan error, 1)
	go func() {
		err := n.importImages(ctx, deferredImages())
		if err == nil {
			if err = os.MkdirAll(filepath.Dir(allImagesImported), 0o755); err == nil {
				err = os.WriteFile(allImagesImported, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
			}
		}
		deferredDone <- err
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-deferredDone:
			if err != nil {
				return fmt.Errorf("importing the deferred images: %w", err)
			}
		case p := <-n.exited:
			return fmt.Errorf("%s exited: %v; last lines of %s:\n%s", p.name, p.err, p.log, tail(p.log, 30))
		}
	}
}

// waitNodeReady waits for this node's Ready condition.
func (n *node) waitNodeReady(ctx context.Context, client kubernetes.Interface) error {
	return n.waitFor(ctx, "node "+n.opts.nodeName+" to be Ready", readyTimeout, func() (bool, string) {
		nodeObj, err := client.CoreV1().Nodes().Get(ctx, n.opts.nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range nodeObj.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return false, "no Ready condition yet"
	})
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

func (n *node) startEtcd() error {
	cfg := embed.NewConfig()
	cfg.Name = "kubenode"
	cfg.Dir = filepath.Join(dataDir, "server/db/etcd")
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(logDir, "etcd.log")}
	local, _ := parseURL("http://127.0.0.1:2379")
	peer, _ := parseURL("http://127.0.0.1:2380")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []urlT{local}, []urlT{local}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []urlT{peer}, []urlT{peer}
	cfg.InitialCluster = "kubenode=http://127.0.0.1:2380"
	cfg.QuotaBackendBytes = 2 << 30
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	n.etcd = e
	select {
	case <-e.Server.ReadyNotify():
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("etcd not ready within 60 s; see %s/etcd.log", logDir)
	}
}

func (n *node) startContainerd() error {
	if err := writeFile("/etc/containerd/config.toml", containerdConfig(restrictOOMScoreAdj()), 0o644); err != nil {
		return err
	}
	if err := n.startProgram("containerd", "containerd", "--config", "/etc/containerd/config.toml"); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", containerdSocket); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("containerd did not open %s within 30 s; last lines of its log:\n%s", containerdSocket, tail(filepath.Join(logDir, "containerd.log"), 30))
}

// applyManifests deploys what k3s would auto-deploy from server/manifests
// (here: the local-path provisioner and its StorageClass), unless disabled.
func (n *node) applyManifests(ctx context.Context) error {
	baked, _ := filepath.Glob("/opt/kubenode/manifests/*.yaml")
	added, _ := filepath.Glob(filepath.Join(dataDir, "server/manifests/*.yaml"))
	files := append(baked, added...)
	for _, f := range files {
		component := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if n.opts.disabled(component) {
			logf("not deploying %s (--disable)", component)
			continue
		}
		out, err := exec.CommandContext(ctx, "/proc/self/exe", "kubectl", "--kubeconfig", kubeconfigPath, "apply", "--server-side", "-f", f).CombinedOutput()
		if err != nil {
			return fmt.Errorf("applying %s: %v: %s", f, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func (n *node) adminClient() (*kubernetes.Clientset, error) { return clientFor(kubeconfigPath) }

func clientFor(kubeconfig string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(cfg)
}
