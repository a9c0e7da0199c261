package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func certCommonName(t *testing.T, certPEM string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		t.Fatal("not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.Subject.CommonName
}

// kube-router runs the firewall only, as k3s runs it, against this cluster's
// Service range, with no listener.
func TestNetpolArgs(t *testing.T) {
	args := netpolArgs("/x/kube-router.kubeconfig", "node-1")
	joined := " " + strings.Join(args, " ") + " "
	for _, want := range []string{
		"--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--run-loadbalancer=false",
		"--kubeconfig=/x/kube-router.kubeconfig", "--hostname-override=node-1",
		"--service-cluster-ip-range=10.43.0.0/16", "--service-node-port-range=30000-32767",
		"--enable-ipv6=false", "--health-port=0", "--metrics-port=0",
	} {
		if !strings.Contains(joined, " "+want+" ") {
			t.Errorf("kube-router's arguments lack %s: %s", want, joined)
		}
	}
	if serviceCIDR != "10.43.0.0/16" {
		t.Errorf("the Service range changed (%s): kube-router must get the apiserver's", serviceCIDR)
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "--") || !strings.Contains(a, "=") {
			t.Errorf("%q: every flag as --name=value (kube-router's pflag reads a bare bool flag's next word as an argument)", a)
		}
	}
}

// The flags k3s users pass turn enforcement off on the server, and the others are still accepted.
func TestDisableNetworkPolicyFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--disable-network-policy"},
		{"--disable-network-policy=true"},
		{"--disable=network-policy"},
		{"--disable=traefik,network-policy"},
	} {
		opts, err := parseServerFlags(append(args, "--node-name=n"))
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !opts.disabled(netpolComponent) {
			t.Errorf("%v does not disable %s", args, netpolComponent)
		}
	}
	for _, args := range [][]string{{}, {"--disable-network-policy=false"}, {"--disable=traefik", "--flannel-backend=none"}} {
		opts, err := parseServerFlags(append(args, "--node-name=n"))
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if opts.disabled(netpolComponent) {
			t.Errorf("%v disables %s", args, netpolComponent)
		}
	}
}

// Without kube-router or ipset the node does not start it and says what is missing.
func TestNetpolPreflightNamesWhatIsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	reason := netpolPreflight()
	for _, p := range netpolPrograms {
		if !strings.Contains(reason, p) {
			t.Errorf("reason %q does not name %s", reason, p)
		}
	}
}

// A disabled node records why, and starts nothing (no kube-router here).
func TestNetpolReasonWhenDisabled(t *testing.T) {
	n := &node{opts: &serverOptions{disable: stringList{netpolComponent}}}
	if r := n.netpolReason("/nonexistent"); !strings.Contains(r, "disabled") {
		t.Errorf("reason %q", r)
	}
	n = &node{opts: &serverOptions{}}
	if r := n.netpolReason("/nonexistent/kube-router.kubeconfig"); !strings.Contains(r, "no credentials for kube-router") {
		t.Errorf("reason %q", r)
	}
	n.netpolOff = "creating kube-router's ClusterRole and binding: forbidden"
	if r := n.netpolReason("/nonexistent"); r != n.netpolOff {
		t.Errorf("reason %q", r)
	}
}

func TestBridgedTrafficFiltered(t *testing.T) {
	dir := t.TempDir()
	old := bridgeNFCallIPTables
	t.Cleanup(func() { bridgeNFCallIPTables = old })
	bridgeNFCallIPTables = filepath.Join(dir, "bridge-nf-call-iptables")
	if r := bridgedTrafficFiltered(); !strings.Contains(r, "br_netfilter") {
		t.Errorf("no switch: %q", r)
	}
	if err := os.WriteFile(bridgeNFCallIPTables, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := bridgedTrafficFiltered(); r != "" {
		t.Errorf("0, writable: %q", r)
	}
	if have, _ := os.ReadFile(bridgeNFCallIPTables); string(have) != "1" {
		t.Errorf("the switch was not turned on: %q", have)
	}
}

// The chains that tell kube-router enforces, as iptables-save prints them.
func TestNetpolChainsIn(t *testing.T) {
	enforcing := `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:KUBE-NWPLCY-DEFAULT - [0:0]
:KUBE-ROUTER-FORWARD - [0:0]
-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-NWPLCY-DEFAULT -m comment --comment "rule to mark traffic matching a network policy" -j MARK --set-xmark 0x10000/0x10000
COMMIT
`
	if !netpolChainsIn(enforcing) {
		t.Error("enforcing not recognised")
	}
	kubeProxyOnly := `*filter
:FORWARD ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
COMMIT
`
	if netpolChainsIn(kubeProxyOnly) {
		t.Error("kube-proxy's rules taken for kube-router's")
	}
}

func TestKubeProxyBackendMismatch(t *testing.T) {
	withProxy := "*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n"
	empty := "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"
	if r := kubeProxyBackendMismatch("nf_tables", withProxy, empty); r != "" {
		t.Errorf("same backend: %q", r)
	}
	if r := kubeProxyBackendMismatch("nf_tables", empty, ""); r != "" {
		t.Errorf("kube-proxy not synced yet, no other backend: %q", r)
	}
	if r := kubeProxyBackendMismatch("nf_tables", empty, withProxy); !strings.Contains(r, "other iptables backend") {
		t.Errorf("kube-proxy in the other backend: %q", r)
	}
}

// The RBAC grants kube-router what its informers list and watch, to its
// certificate's user, and is corrected when it exists.
func TestEnsureNetpolRBAC(t *testing.T) {
	client := fake.NewClientset()
	ctx := context.Background()
	for range 2 { // the second time everything exists
		if err := ensureNetpolRBAC(ctx, client); err != nil {
			t.Fatal(err)
		}
	}
	role, err := client.RbacV1().ClusterRoles().Get(ctx, netpolUser, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			if strings.Join(r.Verbs, ",") == "get,list,watch" {
				granted[r.APIGroups[0]+"/"+res] = true
			}
		}
	}
	for _, want := range []string{"/pods", "/namespaces", "/nodes", "/services", "/endpoints", "discovery.k8s.io/endpointslices", "networking.k8s.io/networkpolicies"} {
		if !granted[want] {
			t.Errorf("kube-router cannot list and watch %s", want)
		}
	}
	binding, err := client.RbacV1().ClusterRoleBindings().Get(ctx, netpolUser, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "User" || binding.Subjects[0].Name != netpolUser || binding.RoleRef.Name != netpolUser {
		t.Errorf("binding %+v", binding)
	}
}

// The probe, for real, in a network namespace of its own (its ipsets and
// iptables are not the host's): root, ipset and iptables needed.
func TestNetpolProbeInOwnNetworkNamespace(t *testing.T) {
	if os.Getenv("KUBENODE_NETPOL_PROBE_CHILD") == "1" {
		if r := netpolProbe(); r != "" {
			t.Fatalf("the probe failed: %s", r)
		}
		out, _ := exec.Command("iptables-save", "-t", "filter").CombinedOutput()
		if strings.Contains(string(out), netpolProbeChain) {
			t.Errorf("the probe left its chain:\n%s", out)
		}
		if out, _ := exec.Command("ipset", "list", "-n").CombinedOutput(); strings.Contains(string(out), netpolProbeSet) {
			t.Errorf("the probe left its set: %s", out)
		}
		backend, version := iptablesBackend()
		t.Logf("iptables backend %q (%s)", backend, version)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (a network namespace, iptables, ipset)")
	}
	for _, p := range []string{"unshare", "ipset", "iptables-restore", "iptables-save"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s", p)
		}
	}
	cmd := exec.Command("unshare", "--net", os.Args[0], "-test.run=^TestNetpolProbeInOwnNetworkNamespace$", "-test.v")
	cmd.Env = append(os.Environ(), "KUBENODE_NETPOL_PROBE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a new network namespace: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// superviseNetpol with a stand-in for kube-router: one that keeps exiting is
// restarted netpolRestarts times and then left, and the marker says why; one
// that enforces clears the marker. Neither ends the node.
func TestSuperviseNetpol(t *testing.T) {
	dir := t.TempDir()
	oldLog, oldMarker, oldBackoff, oldEnforcing := logDir, netpolUnavailable, netpolBackoff, netpolEnforcing
	t.Cleanup(func() {
		logDir, netpolUnavailable, netpolBackoff, netpolEnforcing = oldLog, oldMarker, oldBackoff, oldEnforcing
	})
	logDir, netpolUnavailable, netpolBackoff = dir, filepath.Join(dir, "netpol-unavailable"), time.Millisecond
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	stand := func(script string) {
		if err := os.WriteFile(filepath.Join(bin, netpolProgram), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n := &node{opts: &serverOptions{}, exited: make(chan *process, 16)}
	stopAll := func() {
		n.mu.Lock()
		n.stopping = true
		procs := n.processes
		n.mu.Unlock()
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	t.Cleanup(stopAll)

	stand("echo started; exit 7")
	netpolEnforcing = func() bool { return false }
	settled := make(chan struct{})
	finished := make(chan struct{})
	go func() { n.superviseNetpol(context.Background(), nil, settled); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("superviseNetpol did not give up on a kube-router that keeps exiting")
	}
	select {
	case <-settled:
	default:
		t.Error("not settled")
	}
	marker, _ := os.ReadFile(netpolUnavailable)
	if !strings.Contains(string(marker), fmt.Sprintf("exited %d times", netpolRestarts+1)) || !strings.Contains(string(marker), "exit status 7") {
		t.Errorf("marker: %s", marker)
	}
	if log, _ := os.ReadFile(filepath.Join(dir, netpolProgram+".log")); strings.Count(string(log), "started") != netpolRestarts+1 {
		t.Errorf("log: %s", log)
	}
	select {
	case p := <-n.exited:
		t.Errorf("%s's exit would have ended the node", p.name)
	default:
	}

	stand("exec sleep 60")
	calls := 0
	netpolEnforcing = func() bool { calls++; return calls > 2 }
	if err := os.WriteFile(netpolUnavailable, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	settled = make(chan struct{})
	finished = make(chan struct{})
	go func() { n.superviseNetpol(ctx, nil, settled); close(finished) }()
	select {
	case <-settled:
	case <-time.After(10 * time.Second):
		t.Fatal("not settled although enforcing")
	}
	if _, err := os.Stat(netpolUnavailable); !os.IsNotExist(err) {
		t.Errorf("the marker stayed while kube-router enforces: %v", err)
	}
	cancel()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("superviseNetpol did not return when the node stopped")
	}
}
