package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
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
	processes []*process
	exited    chan *process
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	err  error
	done chan struct{} // closed once the process has exited
}

func (n *node) run(ctx context.Context) error {
	started := time.Now()
	if err := n.prepareHost(); err != nil {
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
	if err := n.applyManifests(ctx); err != nil {
		return err
	}
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

// prepareHost does what a node container needs before kubelet can run inside
// it, and finds the node's address.
func (n *node) prepareHost() error {
	n.exited = make(chan *process, 16)
	ip, err := nodeIP()
	if err != nil {
		return err
	}
	n.ip = ip
	if err := mkdirs(logDir, filepath.Dir(kubeconfigPath), "/etc/cni/net.d", "/run/containerd", dataDir+"/storage"); err != nil {
		return err
	}
	// kubelet refuses to start without /dev/kmsg (its OOM watcher reads it), which
	// an unprivileged container lacks unless the device is passed in. An empty
	// file lets the reader end at EOF: kernel OOM kills then go unreported.
	if f, err := os.Open("/dev/kmsg"); err == nil {
		f.Close()
	} else {
		_ = os.Remove("/dev/kmsg")
		if err := os.WriteFile("/dev/kmsg", nil, 0o644); err != nil {
			return fmt.Errorf("providing /dev/kmsg for kubelet: %w", err)
		}
		logf("no readable /dev/kmsg (%v): kernel OOM events will not reach kubelet", err)
	}
	// kubelet and the logs want a machine id; a container has none.
	if _, err := os.Stat("/etc/machine-id"); err != nil {
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		_ = os.WriteFile("/etc/machine-id", []byte(hex.EncodeToString(id)+"\n"), 0o444)
	}
	if err := createCgroupRoot(cgroupRoot(n.opts.nodeName)); err != nil {
		return fmt.Errorf("creating the pods' cgroup root: %w", err)
	}
	// Pod traffic leaves through the node's interface.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enabling IP forwarding (pods' traffic leaves through the node): %w; the node container needs a writable /proc/sys", err)
	}
	// Shared mount propagation lets volume mounts made by kubelet reach containers.
	if out, err := exec.Command("mount", "--make-rshared", "/").CombinedOutput(); err != nil {
		return fmt.Errorf("mount --make-rshared / (volume mounts must reach containers): %v: %s", err, out)
	}
	if n.agent {
		return nil // the CNI configuration waits for the pod CIDR the server allocates (syncNetwork)
	}
	// The server's node registers first and gets the first /24; syncNetwork
	// corrects this if the controller manager allocated another.
	return n.ensureCNIConfig(podCIDR)
}

func (n *node) writePKI() error {
	n.tls = filepath.Join(dataDir, "server/tls")
	n.credDir = filepath.Join(dataDir, "server/cred")
	// A restarted node container keeps its volumes, so its etcd data, tokens
	// and CA: reuse the CA and reissue leaf certificates (the IP may change).
	ca, err := loadAuthority(n.tls)
	if err != nil {
		ca, err = newAuthority(n.tls)
	}
	if err != nil {
		return err
	}
	n.ca = ca
	host, _ := os.Hostname()
	apiserver := certSpec{name: "apiserver", commonName: "kube-apiserver", server: true,
		dnsNames: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost", host, n.opts.nodeName},
		ips:      []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(kubernetesSvc), n.ip}}
	if gw := defaultGateway(); gw != nil {
		apiserver.ips = append(apiserver.ips, gw)
	}
	// --tls-san as in k3s: the address the client reaches the published port by.
	for _, san := range n.opts.tlsSANs {
		if ip := net.ParseIP(san); ip != nil {
			apiserver.ips = append(apiserver.ips, ip)
		} else {
			apiserver.dnsNames = append(apiserver.dnsNames, san)
		}
	}
	specs := []certSpec{
		apiserver,
		{name: "admin", commonName: "system:admin", organization: []string{"system:masters"}},
		{name: "apiserver-kubelet-client", commonName: "kube-apiserver-kubelet-client", organization: []string{"system:masters"}},
		{name: "controller-manager", commonName: "system:kube-controller-manager"},
		{name: "scheduler", commonName: "system:kube-scheduler"},
		{name: "kube-proxy", commonName: "system:kube-proxy"},
		{name: "kubelet", commonName: "system:node:" + n.opts.nodeName, organization: []string{"system:nodes"}},
	}
	for _, s := range specs {
		if err := ca.issue(s); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(n.tls, "service-account.key")); err != nil {
		if err := newServiceAccountKey(n.tls); err != nil {
			return err
		}
	}
	local := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	for _, name := range []string{"controller-manager", "scheduler", "kube-proxy", "kubelet"} {
		config, err := ca.kubeconfig(name, local)
		if err != nil {
			return err
		}
		if err := writeFile(n.kubeconfig(name), config, 0o600); err != nil {
			return err
		}
	}
	// k3s writes the admin kubeconfig world-readable by default only with
	// --write-kubeconfig-mode; keep it private, the suite copies it as root.
	admin, err := ca.kubeconfig("admin", local)
	if err != nil {
		return err
	}
	return writeFile(kubeconfigPath, admin, 0o600)
}

func (n *node) kubeconfig(component string) string {
	return filepath.Join(n.credDir, component+".kubeconfig")
}

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
	if err := n.start("containerd", "--config", "/etc/containerd/config.toml"); err != nil {
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

// importImages loads every image tarball baked into the node (and any the
// suite copied in) into containerd's k8s.io namespace, as k3s does for its
// airgap images directory. A restarted node keeps containerd's store and
// dataDir (volumes), so tarballs it already imported are skipped: importing
// the database images again took most of a node restart.
func (n *node) importImages(ctx context.Context, tarballs []string) error {
	marker := filepath.Join(dataDir, "agent/images-imported")
	done := map[string]bool{}
	if b, err := os.ReadFile(marker); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			done[line] = true
		}
	}
	started := time.Now()
	imported := 0
	for _, t := range tarballs {
		info, err := os.Stat(t)
		if err != nil {
			return fmt.Errorf("reading %s: %w", t, err)
		}
		key := fmt.Sprintf("%s %d %d", t, info.Size(), info.ModTime().UnixNano())
		if done[key] {
			continue
		}
		out, err := exec.CommandContext(ctx, "ctr", "--address", containerdSocket, "-n", "k8s.io", "images", "import", "--no-unpack=false", t).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ctr images import %s: %v: %s", t, err, strings.TrimSpace(string(out)))
		}
		imported++
		f, err := os.OpenFile(marker, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("recording the import of %s: %w", t, err)
		}
		_, werr := fmt.Fprintln(f, key)
		if cerr := f.Close(); werr != nil || cerr != nil {
			return fmt.Errorf("recording the import of %s: %v %v", t, werr, cerr)
		}
	}
	logf("imported %d of %d image tarballs in %s (%d imported before this start)", imported, len(tarballs), since(started), len(tarballs)-imported)
	return nil
}

// requiredImages are imported before the node says it is Ready; deferred ones
// (images only some runs use, like the second database engine) after it, and
// allImagesImported marks when those are in too.
func requiredImages() []string {
	baked, _ := filepath.Glob("/opt/kubenode/images/*.tar")
	added, _ := filepath.Glob(filepath.Join(dataDir, "agent/images/*.tar"))
	sort.Strings(added)
	return append(baked, added...)
}

func deferredImages() []string {
	deferred, _ := filepath.Glob("/opt/kubenode/images/deferred/*.tar")
	return deferred
}

const allImagesImported = "/run/kubenode/all-images-imported"

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

// start runs this binary (or containerd) as a child whose output goes to
// /var/log/kubenode/NAME.log.
func (n *node) start(name string, args ...string) error {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	var cmd *exec.Cmd
	if name == "containerd" {
		cmd = exec.Command("containerd", args...)
	} else {
		cmd = exec.Command("/proc/self/exe", append([]string{name}, args...)...)
	}
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
