package main

// Joining agents to the server, as k3s does with its node token: the server
// writes server/node-token ("K10<sha256 of the CA certificate>::server:<secret>"),
// and an agent given that token fetches the CA (checking it against the hash)
// and then, with the secret, the client certificates of its kubelet and
// kube-proxy (and kube-router's, netpol.go), which the server signs for the
// node name the agent asks for.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

const (
	nodeTokenPath = dataDir + "/server/node-token"
	joinPort      = 6444
)

type keyPair struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// joinCredentials is what the server hands a joining agent.
type joinCredentials struct {
	CA        string  `json:"ca"`
	Kubelet   keyPair `json:"kubelet"`
	KubeProxy keyPair `json:"kubeProxy"`
	// KubeRouter is the network policy controller's identity (netpolUser);
	// nil when the server runs with --disable=network-policy, which
	// NetworkPolicyDisabled then says, so the agent runs none either (as in k3s).
	KubeRouter            *keyPair `json:"kubeRouter,omitempty"`
	NetworkPolicyDisabled bool     `json:"networkPolicyDisabled,omitempty"`
}

type joinRequest struct {
	Node string `json:"node"`
	IP   string `json:"ip"`
}

// writeNodeToken keeps the join secret across restarts of the server container
// (its volumes keep the CA too) and writes the token agents are given.
func (n *node) writeNodeToken() (secret string, err error) { return writeTokenIn(n, nodeTokenPath) }

func writeTokenIn(n *node, tokenPath string) (secret string, err error) {
	secretPath := filepath.Join(n.tls, "join-secret")
	if b, err := os.ReadFile(secretPath); err == nil && len(b) > 0 {
		secret = strings.TrimSpace(string(b))
	} else {
		raw := make([]byte, 16)
		if _, err := rand.Read(raw); err != nil {
			return "", err
		}
		secret = hex.EncodeToString(raw)
		if err := os.WriteFile(secretPath, []byte(secret+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	caPEM, err := os.ReadFile(n.tlsFile("ca.crt"))
	if err != nil {
		return "", err
	}
	token := fmt.Sprintf("K10%x::server:%s", sha256.Sum256(caPEM), secret)
	return secret, writeFile(tokenPath, token+"\n", 0o600)
}

var nodeNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// serveJoin answers agents on joinPort, over TLS with the apiserver's certificate.
func (n *node) serveJoin(ctx context.Context, secret string) error {
	caPEM, err := os.ReadFile(n.tlsFile("ca.crt"))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cacerts", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(caPEM) })
	mux.HandleFunc("POST /v1/join", func(w http.ResponseWriter, r *http.Request) {
		given := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(given), []byte(secret)) != 1 {
			http.Error(w, "the token's secret is not this server's (server/node-token)", http.StatusUnauthorized)
			return
		}
		var req joinRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || !nodeNamePattern.MatchString(req.Node) {
			http.Error(w, "the request must name the node (a lower-case DNS name)", http.StatusBadRequest)
			return
		}
		creds := joinCredentials{CA: string(caPEM), NetworkPolicyDisabled: n.opts.disabled(netpolComponent)}
		type signing struct {
			into *keyPair
			spec certSpec
		}
		signed := []signing{
			{&creds.Kubelet, certSpec{name: "kubelet-" + req.Node, commonName: "system:node:" + req.Node, organization: []string{"system:nodes"}}},
			{&creds.KubeProxy, certSpec{name: "kube-proxy-" + req.Node, commonName: "system:kube-proxy"}},
		}
		if !creds.NetworkPolicyDisabled {
			creds.KubeRouter = &keyPair{}
			signed = append(signed, signing{creds.KubeRouter, certSpec{name: "kube-router-" + req.Node, commonName: netpolUser}})
		}
		for _, c := range signed {
			cert, key, err := n.ca.sign(c.spec)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			*c.into = keyPair{Cert: string(cert), Key: string(key)}
		}
		logf("agent %s (%s) joined", req.Node, req.IP)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(creds)
	})
	listener, err := net.Listen("tcp", fmt.Sprintf(":%d", joinPort))
	if err != nil {
		return fmt.Errorf("listening for agents on port %d: %w", joinPort, err)
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	go func() {
		if err := server.ServeTLS(listener, n.tlsFile("apiserver.crt"), n.tlsFile("apiserver.key")); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("the join service stopped: %v", err)
		}
	}()
	return nil
}

// parseToken splits a k3s-style token into the CA hash (empty when the token
// is a bare secret, as k3s also accepts) and the secret.
func parseToken(token string) (caHash, secret string) {
	token = strings.TrimSpace(token)
	if rest, ok := strings.CutPrefix(token, "K10"); ok {
		if hash, creds, ok := strings.Cut(rest, "::"); ok {
			_, secret, _ = strings.Cut(creds, ":")
			return hash, secret
		}
	}
	return "", token
}

// fetchCredentials asks the server at serverURL (the apiserver's URL; the join
// service listens beside it) for this node's credentials, retrying until the
// deadline: agents may start while the server is still starting.
func fetchCredentials(ctx context.Context, serverURL, token, nodeName string, ip net.IP, timeout time.Duration) (*joinCredentials, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("--server %q is not a URL like https://10.0.0.2:6443", serverURL)
	}
	caHash, secret := parseToken(token)
	if secret == "" {
		return nil, errors.New("--token is empty: give the server's server/node-token")
	}
	base := fmt.Sprintf("https://%s", net.JoinHostPort(u.Hostname(), fmt.Sprint(joinPort)))
	deadline := time.Now().Add(timeout)
	var last error
	for {
		creds, err := tryJoin(ctx, base, caHash, secret, nodeName, ip)
		if err == nil {
			return creds, nil
		}
		var fatal fatalJoinError
		if errors.As(err, &fatal) {
			return nil, err
		}
		last = err
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("could not join %s within %s; last error: %v", base, timeout, last)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

type fatalJoinError struct{ error }

func tryJoin(ctx context.Context, base, caHash, secret, nodeName string, ip net.IP) (*joinCredentials, error) {
	// The CA is fetched without verification, then trusted only if it matches
	// the hash in the token (as k3s does).
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/cacerts", nil)
	resp, err := insecure.Do(req)
	if err != nil {
		return nil, err
	}
	caPEM, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if caHash != "" && fmt.Sprintf("%x", sha256.Sum256(caPEM)) != caHash {
		return nil, fatalJoinError{fmt.Errorf("the CA served by %s does not match the token's hash: wrong server or a stale token", base)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fatalJoinError{fmt.Errorf("%s/cacerts is not a PEM certificate", base)}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body, _ := json.Marshal(joinRequest{Node: nodeName, IP: ip.String()})
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/join", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		err := fmt.Errorf("%s/v1/join answered %s: %s", base, resp.Status, strings.TrimSpace(string(msg)))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest {
			return nil, fatalJoinError{err}
		}
		return nil, err
	}
	var creds joinCredentials
	if err := json.NewDecoder(resp.Body).Decode(&creds); err != nil {
		return nil, err
	}
	return &creds, nil
}
