package layer

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestUnsyncedWriteIsReadableButNotOnDiskAndCutDropsIt(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("a"), []byte("hello"), 0)
	defer f.Close()

	equal(t, "read through the mount", readFile(t, m.m("a")), []byte("hello"))
	equal(t, "backing file before any sync", readFile(t, m.b("a")), nil)

	r := m.cutThaw()
	if r.DroppedBytes != 5 || r.DroppedBlocks != 1 || r.DroppedFiles != 1 || r.DirtyBytesBefore != 5 {
		t.Fatalf("cut report %+v, want 5 bytes of 1 block of 1 file dropped", r.Report)
	}
	if len(r.Files) != 1 || r.Files[0].Path != "a" || r.Files[0].DroppedBytes != 5 {
		t.Fatalf("cut files %+v", r.Files)
	}
	equal(t, "read through the mount after the cut", readFile(t, m.m("a")), nil)
	equal(t, "backing file after the cut", readFile(t, m.b("a")), nil)
	if s := size(t, m.m("a")); s != 0 {
		t.Fatalf("size after the cut %d, want 0", s)
	}
}

func TestCutInvalidatesTheKernelCacheOfAnOpenFile(t *testing.T) {
	m := mount(t, Options{KernelCache: true})
	os.WriteFile(m.b("a"), bytes.Repeat([]byte("o"), 8192), 0o644)
	f := writeFile(t, m.m("a"), bytes.Repeat([]byte("n"), 8192), 0)
	defer f.Close()
	buf := make([]byte, 8192)
	f.ReadAt(buf, 0) // the kernel caches these pages
	equal(t, "before the cut", buf[:4], []byte("nnnn"))
	if r := m.cutThaw(); r.Invalidated != 1 || r.InvalidatePending != 0 {
		t.Fatalf("invalidated %d pending %d, want 1 and 0", r.Invalidated, r.InvalidatePending)
	}
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	equal(t, "the same descriptor after the cut", buf[:4], []byte("oooo"))
}

func TestPartialBlockWritesKeepTheUntouchedBytes(t *testing.T) {
	m := mount(t, Options{})
	orig := bytes.Repeat([]byte("a"), 10000)
	os.WriteFile(m.b("f"), orig, 0o644)
	f := writeFile(t, m.m("f"), []byte("XYZ"), 4094) // straddles blocks 0 and 1
	defer f.Close()
	want := append([]byte{}, orig...)
	copy(want[4094:], "XYZ")
	equal(t, "overlay read", readFile(t, m.m("f")), want)
	equal(t, "backing before fsync", readFile(t, m.b("f")), orig)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	equal(t, "backing after fsync", readFile(t, m.b("f")), want)
	if r := m.cutThaw(); r.DroppedBytes != 0 {
		t.Fatalf("cut after fsync dropped %d bytes", r.DroppedBytes)
	}
	equal(t, "after the cut", readFile(t, m.m("f")), want)
}

func TestFsyncAndFdatasyncSurviveCut(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("s"), []byte("synced"), 0)
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	g := writeFile(t, m.m("d"), []byte("datasynced"), 0)
	defer g.Close()
	if err := unix.Fdatasync(int(g.Fd())); err != nil {
		t.Fatal(err)
	}
	equal(t, "backing after fsync", readFile(t, m.b("s")), []byte("synced"))
	equal(t, "backing after fdatasync", readFile(t, m.b("d")), []byte("datasynced"))
	if r := m.cutThaw(); r.DroppedBytes != 0 {
		t.Fatalf("cut dropped %d synced bytes", r.DroppedBytes)
	}
	equal(t, "fsynced file after the cut", readFile(t, m.m("s")), []byte("synced"))
	equal(t, "fdatasynced file after the cut", readFile(t, m.m("d")), []byte("datasynced"))
	if s := m.Stats(); s.Fsyncs != 1 || s.Fdatasyncs != 1 {
		t.Fatalf("fsyncs %d fdatasyncs %d, want 1 and 1", s.Fsyncs, s.Fdatasyncs)
	}
}

func TestFsyncThroughAReadOnlyHandlePersists(t *testing.T) {
	m := mount(t, Options{})
	w := writeFile(t, m.m("r"), []byte("dirty"), 0)
	w.Close()
	r, err := os.Open(m.m("r"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	equal(t, "backing after fsync of a read-only handle", readFile(t, m.b("r")), []byte("dirty"))
}

func TestODsyncHandlePersistsEachWrite(t *testing.T) {
	m := mount(t, Options{})
	f, err := os.OpenFile(m.m("log"), os.O_RDWR|os.O_CREATE|syscall.O_DSYNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("one;"))
	equal(t, "backing after one O_DSYNC write", readFile(t, m.b("log")), []byte("one;"))
	f.Write([]byte("two;"))
	if r := m.cutThaw(); r.DroppedBytes != 0 {
		t.Fatalf("cut dropped %d bytes written O_DSYNC", r.DroppedBytes)
	}
	equal(t, "after the cut", readFile(t, m.m("log")), []byte("one;two;"))
	if s := m.Stats(); s.SyncWrites != 2 {
		t.Fatalf("sync_writes %d, want 2", s.SyncWrites)
	}
}

func TestSizeExtensionIsDroppedOnCut(t *testing.T) {
	m := mount(t, Options{})
	os.WriteFile(m.b("x"), bytes.Repeat([]byte("b"), 4096), 0o644)
	f := writeFile(t, m.m("x"), []byte("end"), 10000)
	defer f.Close()
	if s := size(t, m.m("x")); s != 10003 {
		t.Fatalf("size through the mount %d, want 10003", s)
	}
	if s := size(t, m.b("x")); s != 4096 {
		t.Fatalf("backing size %d, want 4096", s)
	}
	m.cutThaw()
	if s := size(t, m.m("x")); s != 4096 {
		t.Fatalf("size after the cut %d, want 4096", s)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Size != 4096 {
		t.Fatalf("fstat of the open file after the cut: %d %v", st.Size, err)
	}
}

func TestTruncateReachesTheBackingFileAtOnce(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("t"), bytes.Repeat([]byte("d"), 10000), 0)
	defer f.Close()
	if err := f.Truncate(5000); err != nil {
		t.Fatal(err)
	}
	if s := size(t, m.b("t")); s != 5000 {
		t.Fatalf("backing size %d after ftruncate, want 5000", s)
	}
	equal(t, "through the mount", readFile(t, m.m("t")), bytes.Repeat([]byte("d"), 5000))
	if r := m.cutThaw(); r.DroppedBytes != 5000 {
		t.Fatalf("cut dropped %d, want the 5000 unsynced bytes left", r.DroppedBytes)
	}
	equal(t, "after the cut", readFile(t, m.m("t")), make([]byte, 5000))
}

func TestFallocateIsMetadata(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("ibd"), []byte("page"), 0)
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, 1<<20); err != nil {
		t.Fatal(err)
	}
	if s := size(t, m.b("ibd")); s != 1<<20 {
		t.Fatalf("backing size %d after fallocate, want 1 MiB at once", s)
	}
	os.WriteFile(m.b("hole"), bytes.Repeat([]byte("h"), 8192), 0o644)
	g := writeFile(t, m.m("hole"), bytes.Repeat([]byte("w"), 8192), 0)
	defer g.Close()
	if err := unix.Fallocate(int(g.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 4096, 4096); err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Repeat([]byte("w"), 4096), make([]byte, 4096)...)
	equal(t, "after punching the dirty second block", readFile(t, m.m("hole")), want)
	m.cutThaw()
	if s := size(t, m.m("ibd")); s != 1<<20 {
		t.Fatalf("size %d after the cut, want the allocation kept", s)
	}
	want = append(bytes.Repeat([]byte("h"), 4096), make([]byte, 4096)...)
	equal(t, "punched file after the cut", readFile(t, m.m("hole")), want)
}

func TestRenameKeepsDirtyDataWithTheInode(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("new.tmp"), []byte("contents"), 0)
	f.Close()
	if err := os.Rename(m.m("new.tmp"), m.m("final")); err != nil {
		t.Fatal(err)
	}
	equal(t, "renamed, unsynced", readFile(t, m.m("final")), []byte("contents"))
	equal(t, "backing of the renamed file", readFile(t, m.b("final")), nil)
	g, err := os.Open(m.m("final"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Sync(); err != nil {
		t.Fatal(err)
	}
	equal(t, "backing after fsync under the new name", readFile(t, m.b("final")), []byte("contents"))
	if _, err := os.Stat(m.b("new.tmp")); !os.IsNotExist(err) {
		t.Fatalf("old name still in the backing directory: %v", err)
	}

	// A file renamed over loses its unsynced data with its last name.
	h := writeFile(t, m.m("victim"), []byte("never synced"), 0)
	h.Close()
	os.WriteFile(m.m("other"), nil, 0o644)
	if err := os.Rename(m.m("other"), m.m("victim")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replaced file's dirty data is dropped", func() bool {
		s := m.Stats()
		return s.DirtyBytes == 0 && s.UnlinkedDropped == 12
	})
}

func TestUnlinkDropsDirtyDataWhenTheFileIsGone(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("closed"), []byte("12345"), 0)
	f.Close()
	eventually(t, "the handle is released", func() bool { return m.Stats().OpenHandles == 0 })
	os.Remove(m.m("closed"))
	if s := m.Stats(); s.DirtyBytes != 0 || s.UnlinkedDropped != 5 {
		t.Fatalf("after unlinking a closed dirty file: dirty %d unlinked_dropped %d", s.DirtyBytes, s.UnlinkedDropped)
	}

	g := writeFile(t, m.m("open"), []byte("abcdefg"), 0)
	os.Remove(m.m("open"))
	buf := make([]byte, 7)
	if _, err := g.ReadAt(buf, 0); err != nil || string(buf) != "abcdefg" {
		t.Fatalf("an unlinked open file reads %q %v", buf, err)
	}
	if s := m.Stats(); s.DirtyBytes != 7 {
		t.Fatalf("dirty %d while the unlinked file is open, want 7", s.DirtyBytes)
	}
	g.Close()
	eventually(t, "the unlinked file's data is dropped at its last close", func() bool {
		s := m.Stats()
		return s.DirtyBytes == 0 && s.UnlinkedDropped == 12 && s.CachedFiles == 0
	})
}

func TestODirectWithAlignedBuffers(t *testing.T) {
	m := mount(t, Options{})
	buf, err := unix.Mmap(-1, 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	f, err := os.OpenFile(m.m("direct"), os.O_RDWR|os.O_CREATE|syscall.O_DIRECT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	copy(buf, bytes.Repeat([]byte("D"), 8192))
	if n, err := f.WriteAt(buf[:4096], 8192); err != nil || n != 4096 {
		t.Fatalf("O_DIRECT write: %d %v", n, err)
	}
	clear(buf)
	if n, err := f.ReadAt(buf[:4096], 8192); err != nil || n != 4096 || buf[0] != 'D' {
		t.Fatalf("O_DIRECT read: %d %v %q", n, err, buf[:1])
	}
	if s := size(t, m.b("direct")); s != 0 {
		t.Fatalf("an unsynced O_DIRECT write reached the backing file (%d bytes)", s)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	want := append(make([]byte, 8192), bytes.Repeat([]byte("D"), 4096)...)
	equal(t, "backing after fsync", readFile(t, m.b("direct")), want)
}

func TestDirectoryFsyncIsCounted(t *testing.T) {
	m := mount(t, Options{})
	os.Mkdir(m.m("dir"), 0o755)
	d, err := os.Open(m.m("dir"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := m.Stats().Fsyncdirs; got != 1 {
		t.Fatalf("fsyncdirs %d, want 1", got)
	}
}

func TestStatsCountersAreExact(t *testing.T) {
	m := mount(t, Options{})
	f, err := os.Create(m.m("c"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 3 {
		if _, err := f.WriteAt(bytes.Repeat([]byte{'0' + byte(i)}, 4096), int64(i)*4096); err != nil {
			t.Fatal(err)
		}
	}
	if s := m.Stats(); s.Writes != 3 || s.BytesWritten != 12288 || s.DirtyBytes != 12288 || s.DirtyBlocks != 3 || s.DirtyFiles != 1 {
		t.Fatalf("after 3 writes: %+v", s)
	}
	f.Sync()
	unix.Fdatasync(int(f.Fd()))
	d, _ := os.Open(m.mnt)
	d.Sync()
	d.Close()
	s := m.Stats()
	if s.Writes != 3 || s.Fsyncs != 1 || s.Fdatasyncs != 1 || s.Fsyncdirs != 1 || s.SyncWrites != 0 ||
		s.DirtyBytes != 0 || s.DirtyFiles != 0 || s.PersistedBytes != 12288 || s.Cuts != 0 || s.Mode != Honest {
		t.Fatalf("stats %+v", s)
	}
	m.Cut()
	m.Thaw()
	if s := m.Stats(); s.Cuts != 1 || s.Thaws != 1 || s.LastCut == nil || s.Frozen {
		t.Fatalf("after a cut and a thaw: cuts %d thaws %d last_cut %v frozen %v", s.Cuts, s.Thaws, s.LastCut, s.Frozen)
	}
}

func TestHardLinksShareTheInodesDirtyData(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("one"), []byte("shared"), 0)
	defer f.Close()
	if err := os.Link(m.m("one"), m.m("two")); err != nil {
		t.Fatal(err)
	}
	equal(t, "the second name, unsynced", readFile(t, m.m("two")), []byte("shared"))
	g, err := os.Open(m.m("two"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Sync(); err != nil {
		t.Fatal(err)
	}
	equal(t, "backing of the first name after an fsync through the second", readFile(t, m.b("one")), []byte("shared"))
	os.Remove(m.m("one"))
	if s := m.Stats(); s.UnlinkedDropped != 0 {
		t.Fatalf("removing one of two names dropped %d bytes", s.UnlinkedDropped)
	}
}

func TestAnExplicitMtimeSurvivesTheFsync(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("old"), []byte("from a tarball"), 0)
	defer f.Close()
	past := time.Date(2022, 11, 6, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(m.m("old"), past, past); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{m.m("old"), m.b("old")} {
		if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(past) {
			t.Fatalf("%s mtime %v after fsync, want %v", p, fi.ModTime(), past)
		}
	}
}
