package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"storage-conformance.local/lazyfs/internal/control"
	"storage-conformance.local/lazyfs/internal/layer"
)

// fuseSuperMagic is FUSE_SUPER_MAGIC, statfs's f_type of a FUSE mount.
const fuseSuperMagic = 0x65735546

// runMount mounts, serves the control socket and, when ctx ends (SIGTERM,
// SIGINT), drops the unsynced data, unmounts and returns.
func runMount(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lazyfs mount", flag.ContinueOnError)
	fl.SetOutput(stderr)
	backing := fl.String("backing", "", "the directory the data really lives in")
	mountpoint := fl.String("mountpoint", "", "where to mount the layer (created if absent)")
	sock := fl.String("control", "", "the control socket to create")
	mode := fl.String("mode", "honest", "honest: fsync persists; lying: fsync returns at once, a flusher persists every --lie-flush-interval")
	lieEvery := fl.Duration("lie-flush-interval", 5*time.Second, "lying mode: how often the flusher persists everything dirty")
	seed := fl.Uint64("seed", 0, "seeds the sequence of torn cuts given no seed (0: from the clock)")
	maxDirty := fl.String("max-dirty", "1GiB", "dirty bytes held before the oldest blocks are written back (0: no limit)")
	syncBacking := fl.Bool("fsync-backing", false, "also fsync the backing file when persisting for an fsync")
	kernelCache := fl.Bool("kernel-cache", false, "let the kernel cache file pages (default: direct I/O; see README before turning this on)")
	debug := fl.Bool("debug", false, "log every FUSE request")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "lazyfs: "+format+"\n", a...)
		return 1
	}
	if *backing == "" || *mountpoint == "" || *sock == "" || fl.NArg() > 0 {
		fmt.Fprint(stderr, "lazyfs mount: need --backing DIR --mountpoint DIR --control SOCKET\n")
		return 2
	}
	limit, err := parseBytes(*maxDirty)
	if err != nil {
		return fail("--max-dirty %q: %v", *maxDirty, err)
	}
	b, _ := filepath.Abs(*backing)
	m, _ := filepath.Abs(*mountpoint)
	if b == m || strings.HasPrefix(m, b+"/") {
		return fail("mountpoint %s is inside the backing directory %s: mount it elsewhere", m, b)
	}
	if msg := checkDevFuse(); msg != "" {
		return fail("%s", msg)
	}
	if err := prepareMountpoint(m, stderr); err != nil {
		return fail("mountpoint %s: %v", m, err)
	}
	// The kernel has applied the caller's umask to every mode it sends.
	syscall.Umask(0)

	lfs, server, err := layer.Mount(m, layer.Options{
		Backing: b, Mode: layer.Mode(*mode), LieFlushInterval: *lieEvery,
		MaxDirty: limit, Seed: *seed, SyncBacking: *syncBacking, KernelCache: *kernelCache, Debug: *debug,
	})
	if err != nil {
		return fail("mount %s over %s: %v%s", m, b, err, mountHint(err))
	}
	ctl, err := control.Listen(*sock)
	if err != nil {
		lfs.Close()
		server.Unmount()
		return fail("control socket %s: %v", *sock, err)
	}
	go ctl.Serve(lfs.Command)

	var sfs syscall.Statfs_t
	if err := syscall.Statfs(m, &sfs); err != nil || sfs.Type != fuseSuperMagic {
		ctl.Close()
		lfs.Close()
		server.Unmount()
		return fail("mount %s does not answer (statfs: %v, type %#x)", m, err, sfs.Type)
	}
	fmt.Fprintf(stdout, "lazyfs: mounted %s over %s (mode %s)\n", m, b, lfs.Mode())

	served := make(chan struct{})
	go func() { server.Wait(); close(served) }()
	select {
	case <-ctx.Done():
	case <-served:
		fmt.Fprintf(stderr, "lazyfs: %s was unmounted from outside\n", m)
	}
	ctl.Close()
	r := lfs.Close()
	fmt.Fprintf(stdout, "lazyfs: stopping: dropped %d unsynced bytes (%d blocks in %d files)\n",
		r.DroppedBytes, r.DroppedBlocks, r.DroppedFiles)
	unmount(server, m, stderr)
	return 0
}

// unmount unmounts, and if files are still open there detaches the mount
// (the process exit then closes /dev/fuse, which ends the connection).
func unmount(server *fuse.Server, m string, stderr io.Writer) {
	done := make(chan error, 1)
	go func() { done <- server.Unmount() }()
	select {
	case err := <-done:
		if err == nil {
			return
		}
	case <-time.After(3 * time.Second):
	}
	if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		fmt.Fprintf(stderr, "lazyfs: unmount %s: %v\n", m, err)
	}
}

// checkDevFuse says what is wrong with /dev/fuse, if anything.
func checkDevFuse() string {
	fd, err := syscall.Open("/dev/fuse", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	switch {
	case err == nil:
		syscall.Close(fd)
		return ""
	case errors.Is(err, syscall.ENOENT):
		return "no /dev/fuse: run the container with --device /dev/fuse"
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Sprintf("cannot open /dev/fuse (%v): run the container with --device /dev/fuse (a node made with mknod is refused by the device cgroup)", err)
	}
	return fmt.Sprintf("cannot open /dev/fuse (%v): the kernel needs FUSE (modprobe fuse on the host)", err)
}

func mountHint(err error) string {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return ": mounting needs root with CAP_SYS_ADMIN (run the container --privileged or with --cap-add SYS_ADMIN)"
	}
	return ""
}

// prepareMountpoint creates the mountpoint, or detaches a dead FUSE mount
// left there by a lazyfs that died.
func prepareMountpoint(m string, stderr io.Writer) error {
	_, err := os.Stat(m)
	if errors.Is(err, syscall.ENOTCONN) {
		fmt.Fprintf(stderr, "lazyfs: detaching a dead mount at %s\n", m)
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			return err
		}
		_, err = os.Stat(m)
	}
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(m, 0o755)
	}
	return err
}

// parseBytes reads 1073741824, 1GiB, 512MiB, 64KiB, 1G, 1g, 0.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("want a byte count such as 1GiB, 512MiB or 1048576")
	}
	return n * mult, nil
}
