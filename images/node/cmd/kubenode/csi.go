package main

// The CSI storage class `conformance-csi` (issue 24): the project's driver
// (images/csi, `conformance-csi`, csi.storage-conformance.local) on every
// node, and on the server the Kubernetes CSI sidecars that turn API objects
// into calls on it: csi-provisioner (PVC -> CreateVolume), csi-snapshotter
// and snapshot-controller (VolumeSnapshot -> CreateSnapshot), csi-resizer
// (PVC size -> ControllerExpandVolume; the kubelet then calls
// NodeExpandVolume). No external-attacher: the CSIDriver says
// attachRequired: false. All run as supervised children of this process
// (logs in /var/log/kubenode/NAME.log) with the admin kubeconfig, and talk
// to the driver on its socket in the kubelet's plugins directory; the driver
// registers itself with the kubelet (no node-driver-registrar).
//
// Volumes are files under dataDir (a volume of the node container, so they
// outlive it) attached to loop devices: the node container needs the loop
// devices (images/csi/README.md). Without them, or without the binaries,
// the node starts anyway, without the class, and says why in csiUnavailable.
//
// Volumes live on the node whose driver created them, and only the server
// runs the sidecars (an agent has no credentials for them): on a cluster
// with agents, a pod of the class must be scheduled on the server
// (see README: multi-node).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	csiDriverName = "csi.storage-conformance.local"
	// csiComponent names the driver's process and log, its packaged manifest
	// (conformance-csi.yaml: CSIDriver, StorageClass, snapshot CRDs), and
	// what --disable=conformance-csi turns off.
	csiComponent    = "conformance-csi"
	csiSocket       = "/var/lib/kubelet/plugins/" + csiDriverName + "/csi.sock"
	csiRegistration = "/var/lib/kubelet/plugins_registry/" + csiDriverName + "-reg.sock"
	csiStateDir     = dataDir + "/conformance-csi"
	// csiLateManifests are applied once the snapshot CRDs are served (the
	// VolumeSnapshotClass: a kind the CRDs of conformance-csi.yaml define).
	csiLateManifests = "/opt/kubenode/manifests/conformance-csi"
	// csiUnavailable holds the reason when the node has no CSI class; the suite reads it.
	csiUnavailable = "/run/kubenode/csi-unavailable"
	csiCRDTimeout  = 5 * time.Minute
)

// csiSidecar is one sidecar's command line.
type csiSidecar struct {
	name string
	args []string
}

// csiSidecars are the server's sidecars and their flags:
//   - --leader-election=false: one instance each, nothing to elect.
//   - csi-provisioner --strict-topology: CreateVolume gets only the node the
//     scheduler chose (WaitForFirstConsumer), so a volume is never made on
//     another node than its pod's; --extra-create-metadata: the driver logs
//     and records which PVC a volume is for. --timeout=60s: a restore copies
//     a backing file (the default 10 s would retry a slow copy).
//   - csi-snapshotter --timeout=2m: CreateSnapshot copies a backing file
//     while the filesystem is frozen (a reflink is instant; a full copy of a
//     1 GiB volume takes seconds); --extra-create-metadata as above.
//   - CSIVolumeGroupSnapshot=false: the driver has no group snapshots and
//     the node installs no group snapshot CRDs; said, not probed.
//   - --retry-interval-max=30s everywhere: a failure during a check is
//     retried within the check's deadline, not after the default 5 minutes.
//   - no --node-deployment: only the server runs sidecars (see above).
func csiSidecars() []csiSidecar {
	common := []string{"--kubeconfig=" + kubeconfigPath, "--leader-election=false", "--retry-interval-max=30s", "--v=2"}
	address := "--csi-address=" + csiSocket
	noGroups := "--feature-gates=CSIVolumeGroupSnapshot=false"
	return []csiSidecar{
		{"snapshot-controller", append([]string{noGroups, "--retry-crd-interval-max=60s"}, common...)},
		{"csi-provisioner", append([]string{address, "--strict-topology", "--extra-create-metadata", "--timeout=60s", "--default-fstype=xfs"}, common...)},
		{"csi-snapshotter", append([]string{address, noGroups, "--extra-create-metadata", "--timeout=2m"}, common...)},
		{"csi-resizer", append([]string{address, "--timeout=60s"}, common...)},
	}
}

// startCSI starts the driver (every node) and, on the server, the sidecars
// once the snapshot CRDs are served. It never fails the node: what is
// missing is logged and written to csiUnavailable, and the class is not
// deployed. Call it before applyManifests.
func (n *node) startCSI(ctx context.Context) {
	if n.opts.disabled(csiComponent) {
		logf("no CSI driver (--disable=%s)", csiComponent)
		return
	}
	if reason := csiPreflight(!n.agent); reason != "" {
		n.noCSI(reason)
		return
	}
	_ = os.Remove(csiUnavailable)
	if err := mkdirs(csiStateDir); err != nil {
		n.noCSI(err.Error())
		return
	}
	if err := n.startProgram(csiComponent, "conformance-csi",
		"--endpoint="+csiSocket, "--registration-socket="+csiRegistration,
		"--node-id="+n.opts.nodeName, "--state-dir="+csiStateDir); err != nil {
		n.noCSI(err.Error())
		return
	}
	if !n.agent {
		go n.startCSISidecars(ctx)
	}
}

// noCSI records why the node has no CSI class and keeps applyManifests from
// deploying a StorageClass nothing serves.
func (n *node) noCSI(reason string) {
	logf("no CSI storage class on this node: %s", reason)
	n.opts.disable = append(n.opts.disable, csiComponent)
	if err := writeFile(csiUnavailable, reason+"\n", 0o644); err != nil {
		logf("recording why the CSI class is missing: %v", err)
	}
}

// csiPreflight says what the node lacks for the driver ("" when nothing).
func csiPreflight(sidecars bool) string {
	programs := []string{"conformance-csi", "mkfs.xfs", "xfs_growfs", "mkfs.ext4", "resize2fs"}
	if sidecars {
		for _, s := range csiSidecars() {
			programs = append(programs, s.name)
		}
	}
	var missing []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return "this node image lacks " + strings.Join(missing, ", ")
	}
	return loopDevicesUsable()
}

// csiProbeDir is where loopDevicesUsable makes its test node (tests change it):
// /dev, where the driver makes its loop nodes (the node's /run is a tmpfs
// mounted nodev, where no device node can be opened).
var csiProbeDir = "/dev"

// csiDockerFlags is what a node container needs for loop devices.
const csiDockerFlags = "docker run --device /dev/loop-control --device-cgroup-rule 'b 7:* rwm' --device-cgroup-rule 'c 10:237 rwm' (or --privileged)"

// loopDevicesUsable checks what the driver will do: open /dev/loop-control
// (making the node if /dev lacks it) and make and open a loop device node
// (a container's /dev has no node for devices the kernel adds after it
// started, so the driver makes them with mknod(2); the device cgroup must allow it).
func loopDevicesUsable() string {
	const control = "/dev/loop-control"
	if _, err := os.Stat(control); errors.Is(err, os.ErrNotExist) {
		if err := syscall.Mknod(control, syscall.S_IFCHR|0o600, 10<<8|237); err != nil {
			return fmt.Sprintf("no %s and mknod of it failed (%v): the node container needs %s", control, err, csiDockerFlags)
		}
	}
	f, err := os.OpenFile(control, os.O_RDWR, 0)
	if err != nil {
		return fmt.Sprintf("cannot open %s (%v): the node container needs %s", control, err, csiDockerFlags)
	}
	// A loop device the kernel has (LOOP_CTL_GET_FREE: a free one, made if need be).
	const loopCtlGetFree = 0x4C82
	free, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), loopCtlGetFree, 0)
	f.Close()
	if errno != 0 {
		return fmt.Sprintf("LOOP_CTL_GET_FREE on %s: %v", control, errno)
	}
	probe := filepath.Join(csiProbeDir, ".loop-probe")
	_ = os.MkdirAll(filepath.Dir(probe), 0o755)
	_ = os.Remove(probe)
	if err := syscall.Mknod(probe, syscall.S_IFBLK|0o600, int(7<<8|free&0xff|(free&^0xff)<<12)); err != nil {
		return fmt.Sprintf("cannot make a loop device node (mknod b 7:%d: %v): the node container needs %s", free, err, csiDockerFlags)
	}
	defer os.Remove(probe)
	g, err := os.OpenFile(probe, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Sprintf("cannot open a loop device (b 7:%d: %v): the node container needs %s", free, err, csiDockerFlags)
	}
	g.Close()
	return ""
}

// startCSISidecars waits until the API serves the snapshot kinds (the CRDs
// applyManifests creates: snapshot-controller exits when they are missing),
// applies the VolumeSnapshotClass, then starts the sidecars.
func (n *node) startCSISidecars(ctx context.Context) {
	client, err := n.adminClient()
	if err != nil {
		n.csiSidecarsFailed(err)
		return
	}
	started := time.Now()
	want := []string{"volumesnapshots", "volumesnapshotcontents", "volumesnapshotclasses"}
	for {
		served := map[string]bool{}
		if list, err := client.Discovery().ServerResourcesForGroupVersion("snapshot.storage.k8s.io/v1"); err == nil {
			for _, r := range list.APIResources {
				served[r.Name] = true
			}
		}
		if served[want[0]] && served[want[1]] && served[want[2]] {
			break
		}
		if time.Since(started) > csiCRDTimeout {
			n.csiSidecarsFailed(fmt.Errorf("the snapshot CRDs were not served within %s (they are in %s.yaml)", csiCRDTimeout, csiComponent))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	if out, err := exec.CommandContext(ctx, "/proc/self/exe", "kubectl", "--kubeconfig", kubeconfigPath, "apply", "--server-side", "-f", csiLateManifests).CombinedOutput(); err != nil {
		n.csiSidecarsFailed(fmt.Errorf("applying %s: %v: %s", csiLateManifests, err, strings.TrimSpace(string(out))))
		return
	}
	for _, s := range csiSidecars() {
		if ctx.Err() != nil {
			return
		}
		if err := n.startProgram(s.name, s.name, s.args...); err != nil {
			n.csiSidecarsFailed(err)
			return
		}
	}
	logf("CSI sidecars started %s after the snapshot CRDs were applied", since(started))
}

func (n *node) csiSidecarsFailed(err error) {
	logf("the CSI sidecars did not start: %v", err)
	if werr := writeFile(csiUnavailable, "the CSI sidecars did not start: "+err.Error()+"\n", 0o644); werr != nil {
		logf("recording why: %v", werr)
	}
}
