package layer

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"storage-conformance.local/lazyfs/internal/cache"
)

// tornRun writes 64 full blocks without syncing, tears them with seed and
// returns the report and the backing file.
func tornRun(t *testing.T, seed uint64) (*CutReport, []byte) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("torn"), bytes.Repeat([]byte{0xAA}, 64*cache.BlockSize), 0)
	defer f.Close()
	r := m.Torn(&seed)
	m.Thaw()
	return r, readFile(t, m.b("torn"))
}

func TestTornKeepsASeededHalf(t *testing.T) {
	const seed = 42
	want := 0
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 64 {
		if rng.IntN(2) == 0 {
			want++
		}
	}
	r, disk := tornRun(t, seed)
	if r.Seed == nil || *r.Seed != seed || r.Command != "torn" {
		t.Fatalf("reply seed %v command %q", r.Seed, r.Command)
	}
	if r.KeptBlocks != int64(want) || r.DroppedBlocks != int64(64-want) ||
		r.KeptBytes != int64(want*cache.BlockSize) || r.DroppedBytes != int64((64-want)*cache.BlockSize) {
		t.Fatalf("torn kept %d blocks dropped %d, want %d and %d", r.KeptBlocks, r.DroppedBlocks, want, 64-want)
	}
	if got := bytes.Count(disk, []byte{0xAA}); got != want*cache.BlockSize {
		t.Fatalf("backing holds %d written bytes, want %d", got, want*cache.BlockSize)
	}
	r2, disk2 := tornRun(t, seed)
	if r2.KeptBlocks != r.KeptBlocks || !bytes.Equal(disk, disk2) {
		t.Fatal("the same seed tore differently")
	}
}

func TestLyingModeAcknowledgesWithoutPersisting(t *testing.T) {
	m := mount(t, Options{Mode: Lying, LieFlushInterval: time.Hour})
	f := writeFile(t, m.m("lie"), []byte("acked"), 0)
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	equal(t, "backing right after an fsync that lied", readFile(t, m.b("lie")), nil)
	if r := m.cutThaw(); r.DroppedBytes != 5 {
		t.Fatalf("cut dropped %d, want the 5 acknowledged bytes", r.DroppedBytes)
	}
	equal(t, "after the cut", readFile(t, m.m("lie")), nil)
	if s := m.Stats(); s.Fsyncs != 1 || s.Mode != Lying {
		t.Fatalf("stats %+v", s)
	}
}

func TestLyingModeFlusherPersistsEventually(t *testing.T) {
	m := mount(t, Options{Mode: Lying, LieFlushInterval: 50 * time.Millisecond})
	f := writeFile(t, m.m("lie"), []byte("acked"), 0)
	defer f.Close()
	f.Sync()
	after := m.Stats().LieFlushes
	eventually(t, "two flushes pass", func() bool { return m.Stats().LieFlushes >= after+2 })
	if r := m.cutThaw(); r.DroppedBytes != 0 {
		t.Fatalf("cut after the flush interval dropped %d bytes", r.DroppedBytes)
	}
	equal(t, "after the cut", readFile(t, m.m("lie")), []byte("acked"))
	if s := m.Stats(); s.LieFlushedBytes != 5 {
		t.Fatalf("lie_flushed_bytes %d, want 5", s.LieFlushedBytes)
	}
}

// done reports whether ch delivered within d.
func within(ch <-chan error, d time.Duration) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	case <-time.After(d):
		return nil, false
	}
}

func TestFrozenOperationsBlockUntilThaw(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("w"), []byte("before"), 0)
	defer f.Close()
	m.Cut()
	// Thaw before any deferred close: closing a file whose write is held
	// waits for it (the kernel's inode lock), so a failing test would hang.
	defer m.Thaw()

	wrote := make(chan error, 1)
	go func() { _, err := f.WriteAt([]byte("after"), 0); wrote <- err }()
	synced := make(chan error, 1)
	go func() { synced <- f.Sync() }()
	made := make(chan error, 1)
	go func() { made <- os.Mkdir(m.m("d"), 0o755) }()

	for _, ch := range []chan error{wrote, synced, made} {
		if _, done := within(ch, 300*time.Millisecond); done {
			t.Fatal("an operation completed on a frozen layer")
		}
	}
	if s := m.Stats(); !s.Frozen || s.Blocked < 2 {
		// the write and fsync of one file queue on the kernel's inode lock, so
		// at least two of the three wait at the freeze itself.
		t.Fatalf("frozen %v blocked_ops %d", s.Frozen, s.Blocked)
	}
	// Reads and stats go on while frozen, and see what the cut left.
	read := make(chan error, 1)
	go func() {
		b, err := os.ReadFile(m.m("w"))
		if err == nil && len(b) != 0 {
			err = os.ErrExist
		}
		read <- err
	}()
	if err, done := within(read, 3*time.Second); !done || err != nil {
		t.Fatalf("a read while frozen: done %v err %v", done, err)
	}
	if r := m.Thaw(); !r.WasFrozen {
		t.Fatal("thaw says the layer was not frozen")
	}
	for _, ch := range []chan error{wrote, synced, made} {
		if err, done := within(ch, 5*time.Second); !done || err != nil {
			t.Fatalf("after thaw: done %v err %v", done, err)
		}
	}
	if _, err := os.Stat(m.b("d")); err != nil {
		t.Fatalf("mkdir after thaw: %v", err)
	}
}

func TestAnFsyncBlockedByTheCutPersistsNothingOfBefore(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("late"), []byte("unsynced"), 0)
	defer f.Close()
	m.Cut()
	defer m.Thaw()
	synced := make(chan error, 1)
	go func() { synced <- f.Sync() }()
	if _, done := within(synced, 200*time.Millisecond); done {
		t.Fatal("fsync returned on a frozen layer")
	}
	m.Thaw()
	if err, done := within(synced, 5*time.Second); !done || err != nil {
		t.Fatalf("fsync after thaw: %v %v", done, err)
	}
	equal(t, "backing", readFile(t, m.b("late")), nil)
}

func TestMaxDirtyWritesBackTheOldestBlocks(t *testing.T) {
	const limit = 64 << 10
	m := mount(t, Options{MaxDirty: limit})
	f, err := os.Create(m.m("big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 32 {
		f.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, cache.BlockSize), int64(i*cache.BlockSize))
	}
	s := m.Stats()
	if s.WrittenBackBytes != limit || s.WrittenBackBlocks != 16 || s.DirtyBytes != limit {
		t.Fatalf("written back %d bytes in %d blocks, dirty %d; want 64 KiB, 16, 64 KiB", s.WrittenBackBytes, s.WrittenBackBlocks, s.DirtyBytes)
	}
	disk := readFile(t, m.b("big"))
	if len(disk) != limit || disk[0] != 1 || disk[limit-1] != 16 {
		t.Fatalf("backing holds %d bytes; want the 16 oldest blocks", len(disk))
	}
	r := m.cutThaw()
	if r.DroppedBytes != limit || r.WrittenBackSinceLastCut != limit || r.WrittenBackBytes != limit {
		t.Fatalf("cut dropped %d, written back since the last cut %d", r.DroppedBytes, r.WrittenBackSinceLastCut)
	}
	if size(t, m.m("big")) != limit {
		t.Fatal("the written-back part did not survive the cut")
	}
	if r := m.cutThaw(); r.WrittenBackSinceLastCut != 0 {
		t.Fatalf("second cut: written back since the last %d, want 0", r.WrittenBackSinceLastCut)
	}
}

func TestCheckpointPersistsWithoutACut(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("cp"), []byte("checkpointed"), 0)
	defer f.Close()
	r := m.Checkpoint()
	if r.PersistedBytes != 12 || r.Files != 1 {
		t.Fatalf("checkpoint %+v", r)
	}
	equal(t, "backing", readFile(t, m.b("cp")), []byte("checkpointed"))
	if s := m.Stats(); s.Frozen || s.DirtyBytes != 0 {
		t.Fatalf("after a checkpoint: frozen %v dirty %d", s.Frozen, s.DirtyBytes)
	}
}

func TestCommandLines(t *testing.T) {
	m := mount(t, Options{})
	if _, err := m.Command("bogus"); err == nil {
		t.Fatal("an unknown command was accepted")
	}
	if _, err := m.Command("torn x"); err == nil {
		t.Fatal("a bad seed was accepted")
	}
	r, err := m.Command("torn 7")
	if err != nil || *r.(*CutReport).Seed != 7 {
		t.Fatalf("torn 7: %v %v", r, err)
	}
	for _, c := range []string{"thaw", "stats", "checkpoint", "cut", "thaw"} {
		if _, err := m.Command(c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
}
