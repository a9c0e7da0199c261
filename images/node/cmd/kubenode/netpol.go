package main

// NetworkPolicy enforcement (issue 25), as k3s does it: kube-router's network
// policy controller, which turns NetworkPolicy objects into iptables rules
// and ipsets on every node. k3s embeds kube-router's netpol package in its
// own binary; here it is kube-router's own command (KUBE_ROUTER_VERSION in
// images/versions.env, built from the Go module proxy), because its go.mod
// pins client-go v0.29 and kubenode's pins v0.34: one module cannot hold both.
// It runs on every node, server and agents, as a supervised process with only
// the firewall (no BGP router, no IPVS service proxy: kube-proxy and the
// node's own routes do those jobs), and listens on no port.
//
// Its exit does not end the node: it is restarted a few times, and while it
// is not enforcing, netpolUnavailable says why. Without what it needs (the
// binary, ipset, iptables that can express its rules, bridged traffic seen by
// iptables) it does not start, and netpolUnavailable says why; the node starts
// anyway, and NetworkPolicy objects are then accepted and not enforced, as on
// any cluster without a policy controller. --disable=network-policy (or k3s's
// --disable-network-policy) turns it off on the server and on every agent
// that joins it.
//
// iptables backend: kube-proxy (embedded in kubenode) and kube-router both run
// the `iptables`, `iptables-save` and `iptables-restore` found in PATH, which
// in the node's Debian bookworm root are the nf_tables variants (Debian's
// default; the image pins them with update-alternatives, images/node/Dockerfile).
// So both write to the same backend by construction; startNetpol logs which,
// and refuses to start if kube-proxy's chains are only in the other one.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// netpolComponent is what --disable=network-policy turns off (k3s's name in
	// `--disable-network-policy`) and names kube-router's credentials.
	netpolComponent = "network-policy"
	netpolProgram   = "kube-router"
	// netpolUser is the identity of kube-router's client certificate; the
	// ClusterRole and ClusterRoleBinding of the same name grant it what its
	// informers read.
	netpolUser = "system:kube-router"
	// netpolReadyTimeout bounds the wait for kube-router's chains.
	netpolReadyTimeout = 60 * time.Second
	// netpolRestarts is how often an exited kube-router is started again.
	netpolRestarts = 5
	// The apiserver's default NodePort range (kubenode sets none): kube-router
	// lets traffic to node ports through to kube-proxy.
	netpolNodePortRange = "30000-32767"
	// netpolForwardChain is the chain kube-router jumps to first from FORWARD.
	netpolForwardChain = "KUBE-ROUTER-FORWARD"
	netpolDefaultChain = "KUBE-NWPLCY-DEFAULT"
)

// Variables for tests.
var (
	// netpolUnavailable holds the reason when this node does not enforce
	// NetworkPolicy; the suite reads it.
	netpolUnavailable = runDir + "/netpol-unavailable"
	// netpolBackoff is the wait before the first restart, doubled each time (at most a minute).
	netpolBackoff = 5 * time.Second
	// netpolEnforcing says whether kube-router's chains are in place.
	netpolEnforcing = func() bool {
		out, err := exec.Command("iptables-save", "-t", "filter").Output()
		return err == nil && netpolChainsIn(string(out))
	}
)

// netpolArgs is kube-router's command line:
//   - --run-firewall=true --run-router=false --run-service-proxy=false
//     --run-loadbalancer=false: the network policy controller only, as k3s
//     runs it (pods' routes are the node's, Services are kube-proxy's).
//   - --kubeconfig: its own identity (netpolUser); --hostname-override: the
//     Node object it reads its addresses from.
//   - --service-cluster-ip-range: traffic to Service IPs is left to kube-proxy
//     (it is checked again after DNAT, against the pod it reaches).
//   - --service-node-port-range: likewise for node ports.
//   - --enable-ipv4 only: the node's networks are IPv4.
//   - --health-port=0 --metrics-port=0: no listener at all (its health server
//     would also serve net/http/pprof, which the binary links in).
//   - --iptables-sync-period=5m: the full resync besides the one each change
//     of a pod, namespace or policy triggers (k3s's value, kube-router's default).
func netpolArgs(kubeconfig, nodeName string) []string {
	return []string{
		"--run-firewall=true",
		"--run-router=false",
		"--run-service-proxy=false",
		"--run-loadbalancer=false",
		"--kubeconfig=" + kubeconfig,
		"--hostname-override=" + nodeName,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--service-node-port-range=" + netpolNodePortRange,
		"--enable-ipv4=true",
		"--enable-ipv6=false",
		"--health-port=0",
		"--metrics-port=0",
		"--iptables-sync-period=5m",
		"--v=1",
	}
}

// netpolRBAC is what kube-router reads: pods, namespaces and policies for the
// rules, its Node for its addresses, and Services, Endpoints and
// EndpointSlices because the command starts informers for them whatever it
// runs (and exits when their caches do not sync). Nothing is written.
func netpolRBAC() (*rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding) {
	read := []string{"get", "list", "watch"}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: netpolUser, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubenode"}},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "nodes", "services", "endpoints"}, Verbs: read},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: read},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: netpolUser, Labels: role.Labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: netpolUser},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: netpolUser}},
	}
	return role, binding
}

// ensureNetpolRBAC creates (or corrects) kube-router's ClusterRole and binding.
func ensureNetpolRBAC(ctx context.Context, client kubernetes.Interface) error {
	role, binding := netpolRBAC()
	roles := client.RbacV1().ClusterRoles()
	if _, err := roles.Create(ctx, role, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		have, err := roles.Get(ctx, role.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		have.Rules, have.Labels = role.Rules, role.Labels
		if _, err := roles.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	bindings := client.RbacV1().ClusterRoleBindings()
	if _, err := bindings.Create(ctx, binding, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		have, err := bindings.Get(ctx, binding.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if have.RoleRef != binding.RoleRef { // immutable: replace
			if err := bindings.Delete(ctx, binding.Name, metav1.DeleteOptions{}); err != nil {
				return err
			}
			_, err = bindings.Create(ctx, binding, metav1.CreateOptions{})
			return err
		}
		have.Subjects, have.Labels = binding.Subjects, binding.Labels
		_, err = bindings.Update(ctx, have, metav1.UpdateOptions{})
		return err
	} else if err != nil {
		return err
	}
	return nil
}

// prepareNetpol runs on the server once the apiserver is ready and before
// agents can join: kube-router's RBAC, on which every node's kube-router relies.
func (n *node) prepareNetpol(ctx context.Context, client kubernetes.Interface) {
	if n.opts.disabled(netpolComponent) {
		return
	}
	if err := ensureNetpolRBAC(ctx, client); err != nil {
		n.netpolOff = "creating kube-router's ClusterRole and binding: " + err.Error()
	}
}

// netpolPrograms are what kube-router runs and what it is.
var netpolPrograms = []string{netpolProgram, "ipset", "iptables", "iptables-save", "iptables-restore"}

// netpolPreflight says what keeps this node from enforcing NetworkPolicy
// ("" when nothing): a missing program, bridged traffic that iptables does
// not see, or an ipset or iptables that cannot hold kube-router's rules.
func netpolPreflight() string {
	var missing []string
	for _, p := range netpolPrograms {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return "this node image lacks " + strings.Join(missing, ", ")
	}
	if reason := bridgedTrafficFiltered(); reason != "" {
		return reason
	}
	return netpolProbe()
}

// bridgeNFCallIPTables is the switch that sends bridged frames through
// iptables (br_netfilter; per network namespace).
var bridgeNFCallIPTables = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// bridgedTrafficFiltered makes sure traffic between two pods of this node,
// which crosses the CNI bridge without being routed, passes iptables
// (kube-router's physdev rules; kube-proxy's hairpin needs it too).
func bridgedTrafficFiltered() string {
	have, err := os.ReadFile(bridgeNFCallIPTables)
	if err != nil {
		return fmt.Sprintf("no %s (%v): without br_netfilter, traffic between pods of one node bypasses iptables", bridgeNFCallIPTables, err)
	}
	if strings.TrimSpace(string(have)) == "1" {
		return ""
	}
	if err := os.WriteFile(bridgeNFCallIPTables, []byte("1"), 0o644); err != nil {
		return fmt.Sprintf("%s is %s and cannot be set to 1 (%v): traffic between pods of one node would bypass iptables", bridgeNFCallIPTables, strings.TrimSpace(string(have)), err)
	}
	return ""
}

const (
	netpolProbeSet   = "kubenode-netpol-probe"
	netpolProbeChain = "KUBENODE-NETPOL-PROBE"
)

// netpolProbeRules are rules of the kinds kube-router writes (pod.go and
// network_policy_controller.go of v2.1.0): ipset matches, marks, NFLOG with a
// limit, REJECT, physdev, addrtype, multiport and conntrack, in a chain no
// built-in chain jumps to, so no packet ever meets them. iptables-restore
// loads them all or nothing: what fails here would fail kube-router's syncs.
func netpolProbeRules() string {
	c := netpolProbeChain
	return strings.Join([]string{
		"*filter",
		":" + c + " - [0:0]",
		"-A " + c + ` -m comment --comment "kubenode netpol probe" -m set --match-set ` + netpolProbeSet + " src -m set --match-set " + netpolProbeSet + " dst -j MARK --set-mark 0x10000/0x10000",
		"-A " + c + " -m mark ! --mark 0x10000/0x10000 -j NFLOG --nflog-group 100 -m limit --limit 10/minute --limit-burst 10",
		"-A " + c + " -m mark ! --mark 0x10000/0x10000 -j REJECT",
		"-A " + c + " -p tcp -m physdev --physdev-is-bridged -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN",
		"-A " + c + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"COMMIT",
		"",
	}, "\n")
}

// netpolProbe checks that `ipset list` works and that ipset and iptables
// together accept rules like kube-router's, then removes what it made.
func netpolProbe() string {
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(args[0], args[1:]...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := run("", "ipset", "list", "-n"); err != nil {
		return fmt.Sprintf("`ipset list` fails (%v: %s): the kernel's ip_set is missing or the node container lacks CAP_NET_ADMIN", err, out)
	}
	if out, err := run("", "ipset", "create", netpolProbeSet, "hash:ip", "-exist"); err != nil {
		return fmt.Sprintf("`ipset create %s hash:ip` fails (%v: %s)", netpolProbeSet, err, out)
	}
	defer func() {
		_, _ = run("", "iptables", "-w", "-F", netpolProbeChain)
		_, _ = run("", "iptables", "-w", "-X", netpolProbeChain)
		_, _ = run("", "ipset", "destroy", netpolProbeSet)
	}()
	if out, err := run(netpolProbeRules(), "iptables-restore", "-w", "--noflush"); err != nil {
		return fmt.Sprintf("iptables-restore refuses rules like kube-router's (%v: %s): the kernel lacks a match or target it uses (set, mark, NFLOG, limit, REJECT, physdev, addrtype, multiport, conntrack)", err, out)
	}
	return ""
}

// iptablesBackend is what `iptables --version` says the backend is
// ("nf_tables" or "legacy"), and the version line itself.
func iptablesBackend() (backend, version string) {
	out, err := exec.Command("iptables", "--version").CombinedOutput()
	version = strings.TrimSpace(string(out))
	if err != nil {
		return "", version
	}
	switch {
	case strings.Contains(version, "nf_tables"):
		return "nf_tables", version
	case strings.Contains(version, "legacy"):
		return "legacy", version
	}
	return "", version
}

// kubeProxyBackendMismatch says whether kube-proxy's rules are in the other
// iptables backend than the one `iptables` writes to ("" when not): given
// `iptables-save -t nat` of the backend kube-router will use and of the other.
func kubeProxyBackendMismatch(backend, same, other string) string {
	const chain = ":KUBE-SERVICES "
	if strings.Contains(same, chain) || !strings.Contains(other, chain) {
		return ""
	}
	return fmt.Sprintf("kube-proxy's chains are in the other iptables backend than %s, which kube-router would use: its rules and kube-proxy's would not see each other's marks and order", backend)
}

// checkBackend logs the iptables backend and tells a mismatch with kube-proxy.
func checkBackend() string {
	backend, version := iptablesBackend()
	other := map[string]string{"nf_tables": "iptables-legacy-save", "legacy": "iptables-nft-save"}[backend]
	if backend == "" || other == "" {
		logf("network policy: iptables backend unknown (`iptables --version`: %s)", version)
		return ""
	}
	same, _ := exec.Command("iptables-save", "-t", "nat").Output()
	var otherOut []byte
	if _, err := exec.LookPath(other); err == nil {
		otherOut, _ = exec.Command(other, "-t", "nat").Output()
	}
	if reason := kubeProxyBackendMismatch(backend, string(same), string(otherOut)); reason != "" {
		return reason
	}
	logf("network policy: iptables backend %s (%s), kube-proxy's too", backend, version)
	return ""
}

// netpolChainsIn says whether `iptables-save -t filter` output shows
// kube-router enforcing: FORWARD jumps to its chain, and its default chain
// (what pods no policy selects get) exists.
func netpolChainsIn(save string) bool {
	return strings.Contains(save, ":"+netpolDefaultChain+" ") &&
		strings.Contains(save, "-A FORWARD ") && strings.Contains(save, "-j "+netpolForwardChain)
}

// noNetpol records why this node does not enforce NetworkPolicy.
func (n *node) noNetpol(reason string) {
	logf("NetworkPolicy is not enforced on this node: %s", reason)
	if err := writeFile(netpolUnavailable, reason+"\n", 0o644); err != nil {
		logf("recording why NetworkPolicy is not enforced: %v", err)
	}
}

// netpolReason is why this node will not run kube-router ("" when it will).
func (n *node) netpolReason(kubeconfig string) string {
	switch {
	case n.netpolOff != "":
		return n.netpolOff
	case n.opts.disabled(netpolComponent):
		return "disabled (--disable=" + netpolComponent + "): NetworkPolicy objects are accepted and not enforced"
	}
	if _, err := os.Stat(kubeconfig); err != nil {
		return "no credentials for kube-router: " + err.Error()
	}
	if reason := netpolPreflight(); reason != "" {
		return reason
	}
	return checkBackend()
}

// startNetpol starts kube-router on this node, once kubelet and kube-proxy
// run (call it after the node is Ready). It never fails the node. The
// returned channel is closed once kube-router enforces, or once it is known
// that it does not (netpolUnavailable then says why), within netpolReadyTimeout.
func (n *node) startNetpol(ctx context.Context) <-chan struct{} {
	settled := make(chan struct{})
	kubeconfig := n.kubeconfig(netpolProgram)
	if reason := n.netpolReason(kubeconfig); reason != "" {
		n.noNetpol(reason)
		close(settled)
		return settled
	}
	_ = os.Remove(netpolUnavailable)
	go n.superviseNetpol(ctx, netpolArgs(kubeconfig, n.opts.nodeName), settled)
	return settled
}

// superviseNetpol runs kube-router, restarting it when it exits (up to
// netpolRestarts times, backing off), and keeps netpolUnavailable true to
// what the node enforces.
func (n *node) superviseNetpol(ctx context.Context, args []string, settled chan struct{}) {
	var once sync.Once
	settle := func() { once.Do(func() { close(settled) }) }
	defer settle()
	for attempt := 0; ; attempt++ {
		exited := make(chan error, 1)
		started := time.Now()
		if err := n.startOptionalProgram(netpolProgram, netpolProgram, func(err error) { exited <- err }, args...); err != nil {
			n.noNetpol(err.Error())
			return
		}
		ok, err := n.watchNetpol(ctx, started, exited, settle)
		if !ok {
			return // the node is stopping
		}
		reason := fmt.Sprintf("kube-router exited (%v) after %s; last lines of %s/%s.log:\n%s", err, since(started), logDir, netpolProgram, tail(logDir+"/"+netpolProgram+".log", 10))
		if attempt >= netpolRestarts {
			n.noNetpol(fmt.Sprintf("kube-router exited %d times, not restarted; the last time: %s", attempt+1, reason))
			return
		}
		n.noNetpol(reason)
		settle()
		backoff := min(netpolBackoff<<attempt, time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// watchNetpol waits for one run of kube-router to enforce (then clears
// netpolUnavailable and settles) and to exit; ok is false when ctx ended first.
func (n *node) watchNetpol(ctx context.Context, started time.Time, exited <-chan error, settle func()) (ok bool, err error) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(netpolReadyTimeout)
	enforcing := false
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case err := <-exited:
			return true, err
		case <-deadline:
			if !enforcing {
				n.noNetpol(fmt.Sprintf("kube-router runs but installed no rules within %s; see %s/%s.log", netpolReadyTimeout, logDir, netpolProgram))
				settle()
			}
		case <-tick.C:
			if !enforcing && netpolEnforcing() {
				enforcing = true
				tick.Reset(time.Hour) // nothing more to poll; an exit still arrives
				_ = os.Remove(netpolUnavailable)
				logf("network policy controller (kube-router) enforcing after %s", since(started))
				settle()
			}
		}
	}
}

// awaitNetpol waits (bounded by netpolReadyTimeout inside superviseNetpol)
// until kube-router enforces or is known not to, so a node is reported ready
// with its NetworkPolicy enforcement settled.
func awaitNetpol(ctx context.Context, settled <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-settled:
	}
}
