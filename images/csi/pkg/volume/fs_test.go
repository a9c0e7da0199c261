package volume

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func allocated(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Blocks * 512
}

func TestBackingFilesArePreallocatedAndGrow(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v.img")
	pre, err := CreateBackingFile(p, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := FileSize(p); size != 8<<20 {
		t.Fatalf("size %d", size)
	}
	if pre && allocated(t, p) < 8<<20 {
		t.Fatalf("preallocated but only %d bytes allocated", allocated(t, p))
	}
	if _, err := CreateBackingFile(p, 1<<20); err == nil {
		t.Fatal("an existing backing file was overwritten")
	}
	if err := GrowBackingFile(p, 12<<20); err != nil {
		t.Fatal(err)
	}
	if err := GrowBackingFile(p, 4<<20); err != nil { // never shrinks
		t.Fatal(err)
	}
	if size, _ := FileSize(p); size != 12<<20 {
		t.Fatalf("size after growing %d", size)
	}
	if pre && allocated(t, p) < 12<<20 {
		t.Fatalf("grown but only %d bytes allocated", allocated(t, p))
	}
}

// A sparse copy keeps the data and the holes.
func TestCopyFileKeepsDataAndHoles(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 20)
	a := bytes.Repeat([]byte("a"), 1<<20)
	b := bytes.Repeat([]byte("b"), 4096)
	f.WriteAt(a, 0)
	f.WriteAt(b, 40<<20)
	f.Close()
	method, err := CopyFile(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(src)
	if !bytes.Equal(got, want) {
		t.Fatal("the copy differs")
	}
	if method == "copy" && allocated(t, dst) > 8<<20 {
		t.Fatalf("the copy of a file with 1 MiB of data allocates %d bytes", allocated(t, dst))
	}
	t.Logf("copied by %s; reflink in %s: %v", method, dir, CanReflink(dir))
	if _, err := CopyFile(src, dst); err == nil {
		t.Fatal("an existing file was overwritten")
	}
}
