package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// certSpec describes one leaf certificate signed by the cluster CA.
type certSpec struct {
	name         string // file stem under the TLS directory
	commonName   string
	organization []string
	dnsNames     []string
	ips          []net.IP
	server       bool
}

type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
	dir  string
}

const certValidity = 10 * 365 * 24 * time.Hour

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

// newAuthority creates the cluster CA in dir.
func newAuthority(dir string) (*authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "storage-conformance-node-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := writePEM(filepath.Join(dir, "ca.crt"), "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if err := writeKey(filepath.Join(dir, "ca.key"), key); err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, dir: dir}, nil
}

// loadAuthority reads the CA a previous start of this node container wrote.
func loadAuthority(dir string) (*authority, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, err
	}
	certBlock, _ := pem.Decode(certPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if certBlock == nil || keyBlock == nil {
		return nil, fmt.Errorf("unreadable CA in %s", dir)
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, dir: dir}, nil
}

func (a *authority) path(name string) string { return filepath.Join(a.dir, name) }

// issue writes NAME.crt and NAME.key signed by the CA.
func (a *authority) issue(spec certSpec) error {
	certPEM, keyPEM, err := a.sign(spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(a.path(spec.name+".crt"), certPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(a.path(spec.name+".key"), keyPEM, 0o600)
}

// sign returns a new key and its certificate signed by the CA, PEM-encoded.
func (a *authority) sign(spec certSpec) (certPEM, keyPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if spec.server {
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	template := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: spec.commonName, Organization: spec.organization},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
		DNSNames:     spec.dnsNames,
		IPAddresses:  spec.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing %s: %w", spec.name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// newServiceAccountKey writes the key pair that signs service account tokens.
func newServiceAccountKey(dir string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "service-account.key"), key); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, "service-account.pub"), "PUBLIC KEY", pub)
}

// kubeconfig renders a client configuration that authenticates with NAME.crt.
func (a *authority) kubeconfig(name, server string) (string, error) {
	var pems [3][]byte
	for i, file := range []string{"ca.crt", name + ".crt", name + ".key"} {
		b, err := os.ReadFile(a.path(file))
		if err != nil {
			return "", fmt.Errorf("the kubeconfig of %s needs %w", name, err)
		}
		pems[i] = b
	}
	return renderKubeconfig(server, pems[0], pems[1], pems[2])
}

// renderKubeconfig is a client configuration with the CA and client key pair inline (client-go's own writer).
func renderKubeconfig(server string, caPEM, certPEM, keyPEM []byte) (string, error) {
	config := clientcmdapi.NewConfig()
	config.Clusters["default"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	config.AuthInfos["default"] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	config.Contexts["default"] = &clientcmdapi.Context{Cluster: "default", AuthInfo: "default"}
	config.CurrentContext = "default"
	data, err := clientcmd.Write(*config)
	if err != nil {
		return "", fmt.Errorf("encoding a kubeconfig: %w", err)
	}
	return string(data), nil
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
		{name: netpolProgram, commonName: netpolUser},
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
	for _, name := range []string{"controller-manager", "scheduler", "kube-proxy", netpolProgram, "kubelet"} {
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
