package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// TestServesBothSockets runs the program's run as kubenode starts it: the
// driver socket answers Identity and Node, the registration socket tells the
// kubelet where the driver socket is, and both go at the end.
func TestServesBothSockets(t *testing.T) {
	dir, err := os.MkdirTemp("", "csi-main-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	endpoint := filepath.Join(dir, "plugins", "csi.storage-conformance.local", "csi.sock")
	registration := filepath.Join(dir, "plugins_registry", "csi.storage-conformance.local-reg.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, endpoint, "", registration, "node-a", filepath.Join(dir, "state"), 0) }()
	dial := func(socket string) *grpc.ClientConn {
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(socket); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		conn, err := grpc.NewClient("unix:"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	reg := dial(registration)
	defer reg.Close()
	info, err := registerapi.NewRegistrationClient(reg).GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Endpoint != endpoint || info.Type != "CSIPlugin" {
		t.Fatalf("GetInfo: %+v", info)
	}
	drv := dial(info.Endpoint)
	defer drv.Close()
	pi, err := csi.NewIdentityClient(drv).GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil || pi.GetName() != info.Name {
		t.Fatalf("GetPluginInfo: %v %v", pi, err)
	}
	ni, err := csi.NewNodeClient(drv).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil || ni.GetNodeId() != "node-a" || ni.GetAccessibleTopology().GetSegments()["topology.csi.storage-conformance.local/node"] != "node-a" {
		t.Fatalf("NodeGetInfo: %v %v", ni, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if _, err := os.Stat(registration); !os.IsNotExist(err) {
		t.Errorf("registration socket left behind: %v", err)
	}
}
