package cache

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// open returns the cache's file for a backing file holding content.
func open(t *testing.T, c *Cache, content []byte) (*File, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := c.Open(1, true, func(bool) (*os.File, bool, error) {
		fd, err := os.OpenFile(p, os.O_RDWR, 0)
		return fd, true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func readAll(t *testing.T, f *File, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	m, err := f.ReadAt(buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:m]
}

func TestOverlayAndPartialBlock(t *testing.T) {
	c := New(0)
	orig := bytes.Repeat([]byte("a"), 6000)
	f, p := open(t, c, orig)
	defer c.Put(f)

	if _, err := f.WriteAt([]byte("XYZ"), 4100); err != nil {
		t.Fatal(err)
	}
	want := append([]byte{}, orig...)
	copy(want[4100:], "XYZ")
	if got := readAll(t, f, 10000); !bytes.Equal(got, want) {
		t.Fatalf("read through the cache: %d bytes, want %d with XYZ at 4100", len(got), len(want))
	}
	if disk, _ := os.ReadFile(p); !bytes.Equal(disk, orig) {
		t.Fatal("an unsynced write reached the backing file")
	}
	if got := c.Counters(); got.DirtyBytes != 3 || got.DirtyBlocks != 1 || got.DirtyFiles != 1 {
		t.Fatalf("counters %+v, want 3 dirty bytes in 1 block of 1 file", got)
	}
	if n, err := f.Persist(false); err != nil || n != 3 {
		t.Fatalf("persist wrote %d (%v), want the 3-byte extent", n, err)
	}
	if disk, _ := os.ReadFile(p); !bytes.Equal(disk, want) {
		t.Fatal("persisted file lost the bytes around the partial write")
	}
}

func TestExtendThenDrop(t *testing.T) {
	c := New(0)
	f, p := open(t, c, []byte("base"))
	defer c.Put(f)
	f.WriteAt([]byte("tail"), 10000)
	if got := readAll(t, f, 20000); len(got) != 10004 || string(got[:4]) != "base" || got[5000] != 0 {
		t.Fatalf("visible size %d, want 10004 with a zero hole", len(got))
	}
	r := c.DropAll()
	if r.DroppedBytes != 4 || r.DroppedBlocks != 1 || r.DroppedFiles != 1 {
		t.Fatalf("drop %+v", r)
	}
	if got := readAll(t, f, 20000); string(got) != "base" {
		t.Fatalf("after the drop the file reads %q", got)
	}
	if disk, _ := os.ReadFile(p); string(disk) != "base" {
		t.Fatalf("backing %q", disk)
	}
}

func TestTruncateIsMetadata(t *testing.T) {
	c := New(0)
	f, p := open(t, c, nil)
	defer c.Put(f)
	f.WriteAt(bytes.Repeat([]byte("d"), 10000), 0)
	if err := f.Truncate(5000); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Size() != 5000 {
		t.Fatalf("backing size %d after truncate, want 5000 at once", fi.Size())
	}
	if got := c.Counters().DirtyBytes; got != 5000 {
		t.Fatalf("dirty bytes %d after truncate, want 5000", got)
	}
	c.DropAll()
	disk, _ := os.ReadFile(p)
	if len(disk) != 5000 || bytes.Count(disk, []byte{0}) != 5000 {
		t.Fatalf("after the cut the backing file is %d bytes, want 5000 zeros", len(disk))
	}
}

func TestTornFollowsSeed(t *testing.T) {
	const blocks, seed = 64, 42
	wantKept := 0
	rng := rand.New(rand.NewPCG(seed, 0))
	for range blocks {
		if rng.IntN(2) == 0 {
			wantKept++
		}
	}
	c := New(0)
	f, p := open(t, c, nil)
	defer c.Put(f)
	f.WriteAt(bytes.Repeat([]byte{7}, blocks*BlockSize), 0)
	r := c.Torn(rand.New(rand.NewPCG(seed, 0)))
	if r.KeptBlocks != int64(wantKept) || r.DroppedBlocks != int64(blocks-wantKept) {
		t.Fatalf("torn kept %d dropped %d, want %d and %d", r.KeptBlocks, r.DroppedBlocks, wantKept, blocks-wantKept)
	}
	disk, _ := os.ReadFile(p)
	if got := bytes.Count(disk, []byte{7}); got != wantKept*BlockSize {
		t.Fatalf("backing holds %d written bytes, want %d", got, wantKept*BlockSize)
	}
}

func TestWritebackOldestFirst(t *testing.T) {
	c := New(4 * BlockSize)
	f, p := open(t, c, nil)
	defer c.Put(f)
	for i := range 8 {
		f.WriteAt(bytes.Repeat([]byte{byte('A' + i)}, BlockSize), int64(i*BlockSize))
		c.WritebackOver()
	}
	got := c.Counters()
	if got.WrittenBackBytes != 4*BlockSize || got.DirtyBytes != 4*BlockSize {
		t.Fatalf("counters %+v, want 4 blocks written back and 4 dirty", got)
	}
	disk, _ := os.ReadFile(p)
	if len(disk) != 4*BlockSize || disk[0] != 'A' || disk[4*BlockSize-1] != 'D' {
		t.Fatalf("backing holds %d bytes; want the 4 oldest blocks", len(disk))
	}
}

func TestUnlinkedFileDropsAtLastPut(t *testing.T) {
	c := New(0)
	f, p := open(t, c, nil)
	f.WriteAt([]byte("gone"), 0)
	os.Remove(p)
	c.Put(f)
	if got := c.Counters(); got.DirtyBytes != 0 || got.UnlinkedDropped != 4 || got.CachedFiles != 0 {
		t.Fatalf("counters %+v, want the deleted file's 4 bytes dropped", got)
	}
}
