package main

// The images the node serves, imported from the tarballs baked into it (and
// any the suite copied in) into containerd's k8s.io namespace, as k3s does for
// its airgap images directory.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// importImages loads every image tarball baked into the node (and any the
// suite copied in) into containerd's k8s.io namespace, as k3s does for its
// airgap images directory. A restarted node keeps containerd's store and
// dataDir (volumes), so tarballs it already imported are skipped: importing
// the database images again took most of a node restart.
func (n *node) importImages(ctx context.Context, tarballs []string) error {
	marker := filepath.Join(dataDir, "agent/images-imported")
	done := map[string]bool{}
	if b, err := os.ReadFile(marker); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			done[line] = true
		}
	}
	started := time.Now()
	imported := 0
	for _, t := range tarballs {
		info, err := os.Stat(t)
		if err != nil {
			return fmt.Errorf("reading %s: %w", t, err)
		}
		key := fmt.Sprintf("%s %d %d", t, info.Size(), info.ModTime().UnixNano())
		if done[key] {
			continue
		}
		out, err := exec.CommandContext(ctx, "ctr", "--address", containerdSocket, "-n", "k8s.io", "images", "import", "--no-unpack=false", t).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ctr images import %s: %v: %s", t, err, strings.TrimSpace(string(out)))
		}
		imported++
		f, err := os.OpenFile(marker, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("recording the import of %s: %w", t, err)
		}
		_, werr := fmt.Fprintln(f, key)
		if cerr := f.Close(); werr != nil || cerr != nil {
			return fmt.Errorf("recording the import of %s: %v %v", t, werr, cerr)
		}
	}
	logf("imported %d of %d image tarballs in %s (%d imported before this start)", imported, len(tarballs), since(started), len(tarballs)-imported)
	return nil
}

// requiredImages are imported before the node says it is Ready; deferred ones
// (images only some runs use, like the second database engine) after it, and
// allImagesImported marks when those are in too.
func requiredImages() []string {
	baked, _ := filepath.Glob("/opt/kubenode/images/*.tar")
	added, _ := filepath.Glob(filepath.Join(dataDir, "agent/images/*.tar"))
	sort.Strings(added)
	return append(baked, added...)
}

func deferredImages() []string {
	deferred, _ := filepath.Glob("/opt/kubenode/images/deferred/*.tar")
	return deferred
}

const allImagesImported = runDir + "/all-images-imported"
