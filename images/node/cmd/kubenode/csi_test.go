package main

import (
	"os"
	"strings"
	"testing"
)

func TestCSISidecarFlags(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range csiSidecars() {
		seen[s.name] = true
		args := strings.Join(s.args, " ")
		for _, want := range []string{"--kubeconfig=" + kubeconfigPath, "--leader-election=false"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s lacks %s: %s", s.name, want, args)
			}
		}
		hasAddress := strings.Contains(args, "--csi-address="+csiSocket)
		if hasAddress == (s.name == "snapshot-controller") {
			t.Errorf("%s: --csi-address %v: %s", s.name, hasAddress, args)
		}
	}
	for _, name := range []string{"csi-provisioner", "csi-snapshotter", "snapshot-controller", "csi-resizer"} {
		if !seen[name] {
			t.Errorf("no %s", name)
		}
	}
	if !strings.HasPrefix(csiSocket, "/var/lib/kubelet/plugins/"+csiDriverName+"/") ||
		!strings.HasPrefix(csiRegistration, "/var/lib/kubelet/plugins_registry/") {
		t.Error("the kubelet finds the driver by these paths")
	}
}

// Without the driver's binary the node starts anyway, without the class.
func TestNoCSIKeepsTheClassOut(t *testing.T) {
	n := &node{opts: &serverOptions{}}
	if reason := csiPreflight(true); reason == "" {
		t.Skip("this host has every CSI program in PATH")
	} else if !strings.Contains(reason, "conformance-csi") {
		t.Fatalf("reason %q does not name the missing driver", reason)
	}
	n.opts.disable = append(n.opts.disable, csiComponent) // what noCSI does, without writing /run
	if !n.opts.disabled(csiComponent) {
		t.Fatal("applyManifests would deploy the class")
	}
}

// On a host with loop devices (as root), the check the node makes before
// deploying the class passes.
func TestLoopDevicesUsable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod)")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs /dev/loop-control (the check would make it in the host's /dev): %v", err)
	}
	csiProbeDir = t.TempDir()
	if reason := loopDevicesUsable(); reason != "" {
		t.Fatalf("this host has loop devices, yet: %s", reason)
	}
}
