// conformance-csi is the CSI driver csi.storage-conformance.local, with the
// kubelet plugin registration built in (no node-driver-registrar). See
// images/csi/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"storage-conformance.local/csi/pkg/driver"
	"storage-conformance.local/csi/pkg/registration"
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC | log.Lmicroseconds)
	defaultNode := os.Getenv("NODE_NAME")
	if defaultNode == "" {
		host, _ := os.Hostname()
		defaultNode = strings.ToLower(host)
	}
	var (
		endpoint     = flag.String("endpoint", "/var/lib/kubelet/plugins/"+driver.Name+"/csi.sock", "the driver's Unix socket")
		kubeletPath  = flag.String("kubelet-registration-path", "", "the driver's socket as the kubelet reaches it (default: --endpoint; they differ only when the driver runs in another mount namespace)")
		registration = flag.String("registration-socket", "/var/lib/kubelet/plugins_registry/"+driver.Name+"-reg.sock", "the kubelet plugin registration socket to serve; empty: do not register with a kubelet")
		nodeID       = flag.String("node-id", defaultNode, "the Kubernetes node name (default: $NODE_NAME, else the host name)")
		stateDir     = flag.String("state-dir", "/var/lib/conformance-csi", "where backing files, snapshots and state.json live (must survive node restarts)")
		maxVolumes   = flag.Int64("max-volumes-per-node", 0, "NodeGetInfo's max_volumes_per_node (0: no limit)")
		version      = flag.Bool("version", false, "print the version and exit")
	)
	flag.Parse()
	if *version {
		fmt.Println(driver.Name, driver.Version)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *endpoint, *kubeletPath, *registration, *nodeID, *stateDir, *maxVolumes); err != nil {
		log.Printf("fatal: %v", err)
		stop()
		os.Exit(1)
	}
}

// run serves the driver and the registration socket until ctx ends.
func run(ctx context.Context, endpoint, kubeletPath, registrationSocket, nodeID, stateDir string, maxVolumes int64) error {
	d, err := driver.New(driver.Config{Endpoint: endpoint, NodeID: nodeID, StateDir: stateDir, MaxVolumesPerNode: maxVolumes})
	if err != nil {
		return err
	}
	errs := make(chan error, 2)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := d.Run(ctx); err != nil {
			errs <- err
		}
	}()
	regDone := make(chan struct{})
	if registrationSocket == "" {
		close(regDone)
	} else {
		if kubeletPath == "" {
			kubeletPath = endpoint
		}
		reg := registration.New(driver.Name, kubeletPath)
		go func() {
			defer close(regDone)
			if err := reg.Serve(ctx, registrationSocket); err != nil {
				errs <- fmt.Errorf("registration socket %s: %w", registrationSocket, err)
			}
		}()
	}
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
		// Calls in flight finish (a snapshot thaws what it froze), for a while.
		log.Printf("stopping")
		select {
		case <-served:
		case <-time.After(30 * time.Second):
			log.Printf("calls still running after 30 s; stopping them")
			d.Stop()
		}
		<-regDone // its socket removed: the kubelet drops the plugin
		return nil
	}
}
