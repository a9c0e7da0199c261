package registration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// TestKubeletHandshake plays the kubelet's plugin watcher: GetInfo over the
// registration socket, then NotifyRegistrationStatus.
func TestKubeletHandshake(t *testing.T) {
	dir, err := os.MkdirTemp("", "reg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "plugins_registry", "csi.storage-conformance.local-reg.sock")
	// A stale socket from a killed driver is replaced.
	os.MkdirAll(filepath.Dir(socket), 0o750)
	os.WriteFile(socket, nil, 0o600)
	s := New("csi.storage-conformance.local", "/var/lib/kubelet/plugins/csi.storage-conformance.local/csi.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, socket) }()
	conn, err := grpc.NewClient("unix:"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := registerapi.NewRegistrationClient(conn)
	var info *registerapi.PluginInfo
	for deadline := time.Now().Add(5 * time.Second); ; {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		info, err = c.GetInfo(cctx, &registerapi.InfoRequest{})
		ccancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	if info.Type != registerapi.CSIPlugin || info.Name != "csi.storage-conformance.local" ||
		info.Endpoint != "/var/lib/kubelet/plugins/csi.storage-conformance.local/csi.sock" ||
		len(info.SupportedVersions) != 1 || info.SupportedVersions[0] != "1.0.0" {
		t.Fatalf("GetInfo answered %+v", info)
	}
	if _, err := c.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: false, Error: "version mismatch"}); err != nil {
		t.Fatal(err)
	}
	<-s.Notified()
	if ok, msg := s.Status(); ok || msg != "version mismatch" {
		t.Fatalf("status %v %q", ok, msg)
	}
	if _, err := c.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Status(); !ok {
		t.Fatal("registered status not kept")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Fatalf("the socket outlived the server (the kubelet would keep the plugin): %v", err)
	}
}
