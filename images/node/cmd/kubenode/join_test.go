package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseToken(t *testing.T) {
	for _, c := range []struct{ token, hash, secret string }{
		{"K10abc123::server:s3cret\n", "abc123", "s3cret"},
		{"K10abc123::node:s3cret", "abc123", "s3cret"},
		{"bare-secret", "", "bare-secret"},
	} {
		hash, secret := parseToken(c.token)
		if hash != c.hash || secret != c.secret {
			t.Errorf("parseToken(%q) = %q, %q; want %q, %q", c.token, hash, secret, c.hash, c.secret)
		}
	}
}

// A server's join service signs credentials for a named node, and refuses a
// wrong secret and a token whose CA hash is not the server's.
func TestJoin(t *testing.T) {
	dir := t.TempDir()
	ca, err := newAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.issue(certSpec{name: "apiserver", commonName: "kube-apiserver", server: true, ips: []net.IP{net.ParseIP("127.0.0.1")}}); err != nil {
		t.Fatal(err)
	}
	n := &node{tls: dir, ca: ca, opts: &serverOptions{}}
	secret, err := writeTokenIn(n, filepath.Join(dir, "node-token"))
	if err != nil {
		t.Fatal(err)
	}
	token, _ := os.ReadFile(filepath.Join(dir, "node-token"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := n.serveJoin(ctx, secret); err != nil {
		t.Skipf("port %d is taken here: %v", joinPort, err)
	}
	creds, err := fetchCredentials(ctx, "https://127.0.0.1:6443", string(token), "agent-1", net.ParseIP("127.0.0.1"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(creds.CA, "BEGIN CERTIFICATE") || !strings.Contains(creds.Kubelet.Cert, "BEGIN CERTIFICATE") || !strings.Contains(creds.KubeProxy.Key, "PRIVATE KEY") {
		t.Fatalf("incomplete credentials: %+v", creds)
	}
	if creds.KubeRouter == nil || !strings.Contains(creds.KubeRouter.Cert, "BEGIN CERTIFICATE") || creds.NetworkPolicyDisabled {
		t.Fatalf("no kube-router credentials for the agent: %+v", creds)
	}
	if cn := certCommonName(t, creds.KubeRouter.Cert); cn != netpolUser {
		t.Errorf("kube-router's certificate is for %q, want %q (its ClusterRoleBinding's user)", cn, netpolUser)
	}
	// A server with --disable=network-policy hands none, and says so.
	n.opts.disable = append(n.opts.disable, netpolComponent)
	if creds, err = fetchCredentials(ctx, "https://127.0.0.1:6443", string(token), "agent-2", net.ParseIP("127.0.0.1"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if creds.KubeRouter != nil || !creds.NetworkPolicyDisabled {
		t.Errorf("--disable=network-policy: the agent got kube-router credentials or was not told: %+v", creds.NetworkPolicyDisabled)
	}
	hash, _ := parseToken(string(token))
	if _, err := fetchCredentials(ctx, "https://127.0.0.1:6443", "K10"+hash+"::server:wrong", "agent-1", nil, 5*time.Second); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret: got %v, want a 401 at once", err)
	}
	if _, err := fetchCredentials(ctx, "https://127.0.0.1:6443", "K10"+strings.Repeat("0", 64)+"::server:"+secret, "agent-1", nil, 5*time.Second); err == nil || !strings.Contains(err.Error(), "does not match the token's hash") {
		t.Errorf("a foreign CA hash: got %v", err)
	}
	if _, err := fetchCredentials(ctx, "https://127.0.0.1:6443", string(token), "Not_A_Name", nil, 5*time.Second); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("a bad node name: got %v", err)
	}
}

func TestCNIConfigNamesTheNodesSubnet(t *testing.T) {
	if c := cniConfig("10.42.3.0/24"); !strings.Contains(c, `"subnet": "10.42.3.0/24"`) {
		t.Errorf("cniConfig does not carry the subnet:\n%s", c)
	}
}
