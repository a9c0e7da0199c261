package main

// kube-router's network policy controller, for real, without a cluster: in a
// network namespace of its own (the "node"), two further namespaces are the
// "pods" of a bridge like the CNI bridge's, a stub API server serves their Pod
// objects and the policies, and kube-router (the binary the image builds,
// KUBE_ROUTER_BIN) runs with kubenode's arguments against it. A TCP connection
// between the pods must work before any policy, be refused under a deny-all
// policy, work again with a policy admitting the client by label, and work
// after the policies are gone. Only with KUBE_ROUTER_BIN set, as root. The
// iptables and ipset state under each policy goes to the test log.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	dpNode     = "node-1"
	dpNodeIP   = "192.0.2.10" // TEST-NET-1: on no interface; kube-router only compares it with hostIP
	dpBridgeIP = "10.42.0.1"
	dpServerIP = "10.42.0.10" // db/mysql
	dpClientIP = "10.42.0.11" // default/client
	dpPort     = "3306"
)

// TestKubeRouterEnforcesPolicies is the parent: it re-runs itself in a new
// network namespace.
func TestKubeRouterEnforcesPolicies(t *testing.T) {
	switch os.Getenv("KUBENODE_DP_MODE") {
	case "node":
		dataplaneNode(t)
		return
	case "serve":
		dataplaneServe(t)
		return
	case "dial":
		if err := dataplaneDial(os.Getenv("KUBENODE_DP_ADDR")); err != nil {
			fmt.Println("DIAL-FAILED:", err)
			os.Exit(3)
		}
		fmt.Println("DIAL-OK")
		return
	}
	bin := os.Getenv("KUBE_ROUTER_BIN")
	if bin == "" {
		t.Skip("set KUBE_ROUTER_BIN to the kube-router binary the image builds")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, p := range []string{"unshare", "nsenter", "ip", "ipset", "iptables", "iptables-save", "sleep"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	cmd := exec.Command("unshare", "--net", os.Args[0], "-test.run=^TestKubeRouterEnforcesPolicies$", "-test.v", "-test.timeout=4m")
	cmd.Env = append(os.Environ(), "KUBENODE_DP_MODE=node", "KUBE_ROUTER_BIN="+bin)
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace of its own:\n%s", out)
	if err != nil {
		t.Fatalf("failed: %v", err)
	}
}

func dataplaneServe(t *testing.T) {
	l, err := net.Listen("tcp", ":"+dpPort)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	go func() { time.Sleep(3 * time.Minute); os.Exit(0) }()
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, _ = io.WriteString(c, "pong "+line)
		}()
	}
}

func dataplaneDial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if reply != "pong ping\n" {
		return fmt.Errorf("reply %q", reply)
	}
	return nil
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dpPod is a network namespace held by a sleeping process, on the bridge.
func dpPod(t *testing.T, name, ip string) int {
	t.Helper()
	holder := exec.Command("unshare", "--net", "sleep", "240")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	pid := holder.Process.Pid
	self, _ := os.Readlink("/proc/self/ns/net")
	for i := 0; ; i++ { // until unshare has entered its namespace
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); ns != "" && ns != self {
			break
		}
		if i > 100 {
			t.Fatal("the pod's namespace did not appear")
		}
		time.Sleep(20 * time.Millisecond)
	}
	veth := "veth-" + name
	sh(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", fmt.Sprint(pid))
	sh(t, "ip", "link", "set", veth, "master", "cni0", "up")
	in := []string{"nsenter", "--net=/proc/" + fmt.Sprint(pid) + "/ns/net"}
	sh(t, append(in, "ip", "link", "set", "lo", "up")...)
	sh(t, append(in, "ip", "addr", "add", ip+"/24", "dev", "eth0")...)
	sh(t, append(in, "ip", "link", "set", "eth0", "up")...)
	sh(t, append(in, "ip", "route", "add", "default", "via", dpBridgeIP)...)
	return pid
}

// dpStub is a minimal API server: lists and watches of the kinds kube-router's
// informers read, and the Node it looks itself up by.
type dpStub struct {
	mu       sync.Mutex
	rv       int
	objects  map[string][]any // resource path -> objects
	watchers map[string][]chan []byte
}

func (s *dpStub) set(resource string, objects ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[resource] = objects
}

// event changes a resource's objects and tells its watchers.
func (s *dpStub) event(resource, kind string, obj metav1.Object, object any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rv++
	obj.SetResourceVersion(fmt.Sprint(s.rv))
	var kept []any
	for _, o := range s.objects[resource] {
		if o.(metav1.Object).GetName() != obj.GetName() || o.(metav1.Object).GetNamespace() != obj.GetNamespace() {
			kept = append(kept, o)
		}
	}
	if kind != "DELETED" {
		kept = append(kept, object)
	}
	s.objects[resource] = kept
	line, _ := json.Marshal(map[string]any{"type": kind, "object": object})
	for _, w := range s.watchers[resource] {
		select {
		case w <- append(line, '\n'):
		default:
		}
	}
}

// dpListKinds are the list kinds the typed clients decode (a plain "List" they refuse).
var dpListKinds = map[string][2]string{
	"/api/v1/nodes":                              {"v1", "NodeList"},
	"/api/v1/namespaces":                         {"v1", "NamespaceList"},
	"/api/v1/pods":                               {"v1", "PodList"},
	"/api/v1/services":                           {"v1", "ServiceList"},
	"/api/v1/endpoints":                          {"v1", "EndpointsList"},
	"/apis/discovery.k8s.io/v1/endpointslices":   {"discovery.k8s.io/v1", "EndpointSliceList"},
	"/apis/networking.k8s.io/v1/networkpolicies": {"networking.k8s.io/v1", "NetworkPolicyList"},
}

func (s *dpStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/api/v1/nodes/"+dpNode {
		s.mu.Lock()
		node := s.objects["/api/v1/nodes"][0]
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(node)
		return
	}
	s.mu.Lock()
	objects, ok := s.objects[path]
	s.mu.Unlock()
	if !ok {
		http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1" {
		ch := make(chan []byte, 16)
		s.mu.Lock()
		s.watchers[path] = append(s.watchers[path], ch)
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case line := <-ch:
				_, _ = w.Write(line)
				w.(http.Flusher).Flush()
			}
		}
	}
	s.mu.Lock()
	apiVersion, kind := dpListKinds[path][0], dpListKinds[path][1]
	list := map[string]any{"kind": kind, "apiVersion": apiVersion, "metadata": map[string]any{"resourceVersion": fmt.Sprint(s.rv)}, "items": append([]any{}, objects...)}
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(list)
}

func dataplaneNode(t *testing.T) {
	bin := os.Getenv("KUBE_ROUTER_BIN")
	sh(t, "ip", "link", "set", "lo", "up")
	sh(t, "ip", "link", "add", "cni0", "type", "bridge")
	sh(t, "ip", "addr", "add", dpBridgeIP+"/24", "dev", "cni0")
	sh(t, "ip", "link", "set", "cni0", "up")
	if r := bridgedTrafficFiltered(); r != "" {
		t.Fatal(r)
	}
	if r := netpolProbe(); r != "" {
		t.Fatalf("preflight probe: %s", r)
	}
	serverPod := dpPod(t, "mysql", dpServerIP)
	clientPod := dpPod(t, "client", dpClientIP)
	serve := exec.Command("nsenter", "--net=/proc/"+fmt.Sprint(serverPod)+"/ns/net", os.Args[0], "-test.run=^TestKubeRouterEnforcesPolicies$")
	serve.Env = append(os.Environ(), "KUBENODE_DP_MODE=serve")
	serve.Stdout, serve.Stderr = os.Stdout, os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	dial := func() error {
		cmd := exec.Command("nsenter", "--net=/proc/"+fmt.Sprint(clientPod)+"/ns/net", os.Args[0], "-test.run=^TestKubeRouterEnforcesPolicies$")
		cmd.Env = append(os.Environ(), "KUBENODE_DP_MODE=dial", "KUBENODE_DP_ADDR="+net.JoinHostPort(dpServerIP, dpPort))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "DIAL-OK") {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	expect := func(what string, connects bool, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			err := dial()
			if (err == nil) == connects {
				t.Logf("%s: connects=%v (%v)", what, connects, err)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: want connects=%v, got %v\n%s", what, connects, err, sh(t, "iptables-save", "-t", "filter"))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	expect("before kube-router", true, 10*time.Second)

	// The API: the node, both namespaces, both pods, no policy.
	stub := &dpStub{objects: map[string][]any{}, watchers: map[string][]chan []byte{}}
	stub.set("/api/v1/nodes", &corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: dpNode, ResourceVersion: "1"},
		Spec:       corev1.NodeSpec{PodCIDR: "10.42.0.0/24", PodCIDRs: []string{"10.42.0.0/24"}},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: dpNodeIP}, {Type: corev1.NodeHostName, Address: dpNode}}},
	})
	ns := func(name string) any {
		return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1", Labels: map[string]string{"kubernetes.io/metadata.name": name}}}
	}
	stub.set("/api/v1/namespaces", ns("db"), ns("default"))
	pod := func(namespace, name, ip string, labels map[string]string) any {
		return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, ResourceVersion: "1", Labels: labels},
			Spec:       corev1.PodSpec{NodeName: dpNode, Containers: []corev1.Container{{Name: "c", Image: "x"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, HostIP: dpNodeIP, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
	}
	stub.set("/api/v1/pods", pod("db", "mysql", dpServerIP, map[string]string{"app": "mysql"}), pod("default", "client", dpClientIP, map[string]string{"role": "client"}))
	for _, r := range []string{"/api/v1/services", "/api/v1/endpoints", "/apis/discovery.k8s.io/v1/endpointslices", "/apis/networking.k8s.io/v1/networkpolicies"} {
		stub.set(r)
	}
	stub.rv = 1
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: stub, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kube-router.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: stub, cluster: {server: "http://%s"}}]
users: [{name: stub, user: {}}]
contexts: [{name: stub, context: {cluster: stub, user: stub}}]
current-context: stub
`, l.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}

	logPath := filepath.Join(dir, "kube-router.log")
	logFile, _ := os.Create(logPath)
	kr := exec.Command(bin, netpolArgs(kubeconfig, dpNode)...)
	kr.Stdout, kr.Stderr = logFile, logFile
	if err := kr.Start(); err != nil {
		t.Fatal(err)
	}
	krDone := make(chan struct{})
	var krErr error
	go func() { krErr = kr.Wait(); close(krDone) }()
	t.Cleanup(func() { _ = kr.Process.Kill(); <-krDone; logFile.Close() })
	started := time.Now()
	for !netpolEnforcing() {
		select {
		case <-krDone:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("kube-router exited: %v\n%s", krErr, out)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(started) > 60*time.Second {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("kube-router installed no chains within 60s:\n%s", out)
		}
	}
	t.Logf("kube-router enforcing after %s", since(started))
	expect("kube-router, no policy", true, 10*time.Second)

	denyAll := &networkingv1.NetworkPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "deny-all"},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	stub.event("/apis/networking.k8s.io/v1/networkpolicies", "ADDED", denyAll, denyAll)
	expect("deny-all in db", false, 20*time.Second)
	t.Logf("iptables and ipsets under deny-all:\n%s\n%s", sh(t, "iptables-save", "-t", "filter"), sh(t, "ipset", "list"))

	admit := &networkingv1.NetworkPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "admit-clients"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "mysql"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}},
			}}}},
		}}
	stub.event("/apis/networking.k8s.io/v1/networkpolicies", "ADDED", admit, admit)
	expect("deny-all plus a policy admitting role=client", true, 20*time.Second)
	t.Logf("ipsets with the admitting policy:\n%s", sh(t, "ipset", "list"))

	// The client loses its label: refused again.
	relabelled := pod("default", "client", dpClientIP, map[string]string{"role": "stranger"}).(*corev1.Pod)
	stub.event("/api/v1/pods", "MODIFIED", relabelled, relabelled)
	expect("the client without role=client", false, 20*time.Second)

	stub.event("/apis/networking.k8s.io/v1/networkpolicies", "DELETED", admit, admit)
	stub.event("/apis/networking.k8s.io/v1/networkpolicies", "DELETED", denyAll, denyAll)
	expect("policies deleted", true, 20*time.Second)

	_ = kr.Process.Signal(os.Interrupt)
	select {
	case <-krDone:
	case <-time.After(10 * time.Second):
	}
	krLog, _ := os.ReadFile(logPath)
	t.Logf("kube-router's log:\n%s", krLog)
}
