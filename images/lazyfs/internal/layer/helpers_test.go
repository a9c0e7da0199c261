package layer

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
)

// mounted is a layer mounted in a test's temporary directory.
type mounted struct {
	*FS
	backing, mnt string
}

// mount mounts a layer over a fresh backing directory, or skips the test
// when this machine cannot mount FUSE.
func mount(t testing.TB, opts Options) *mounted {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE directly needs root")
	}
	if fd, err := syscall.Open("/dev/fuse", syscall.O_RDWR, 0); err != nil {
		t.Skipf("no usable /dev/fuse (%v)", err)
	} else {
		syscall.Close(fd)
	}
	dir := t.TempDir()
	m := &mounted{backing: filepath.Join(dir, "backing"), mnt: filepath.Join(dir, "mnt")}
	for _, d := range []string{m.backing, m.mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts.Backing = m.backing
	l, server, err := Mount(m.mnt, opts)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	m.FS = l
	t.Cleanup(func() {
		l.Close()
		if err := server.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
			syscall.Unmount(m.mnt, syscall.MNT_DETACH)
		}
	})
	return m
}

func (m *mounted) m(name string) string { return filepath.Join(m.mnt, name) }
func (m *mounted) b(name string) string { return filepath.Join(m.backing, name) }

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, p string, data []byte, off int64) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	return f
}

func size(t testing.TB, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// eventually polls cond for up to 5 s (FUSE releases a closed file
// asynchronously).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func equal(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes %q, want %d bytes %q", what, len(got), clip(got), len(want), clip(want))
	}
}

func clip(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}

// cutThaw cuts and thaws, returning the cut's report.
func (m *mounted) cutThaw() *CutReport {
	r := m.Cut()
	m.Thaw()
	return r
}

var _ = fs.OK
