package layer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"storage-conformance.local/lazyfs/internal/cache"
)

// TestConcurrentWritersAndFsyncs has writers on private files and on one
// shared file (disjoint blocks), syncing at random, with a small dirty limit
// so the write-back runs too; at the end every byte written is on disk.
func TestConcurrentWritersAndFsyncs(t *testing.T) {
	const writers, blocks, rounds = 6, 32, 200
	m := mount(t, Options{MaxDirty: 48 * cache.BlockSize})
	shared, err := os.Create(m.m("shared"))
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()

	want := make([][]byte, writers)
	wantShared := make([]byte, writers*blocks*cache.BlockSize)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		want[w] = make([]byte, blocks*cache.BlockSize)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			f, err := os.Create(m.m(fmt.Sprintf("w%d", w)))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			for range rounds {
				off := rng.IntN(blocks*cache.BlockSize - 100)
				n := 1 + rng.IntN(6000)
				if off+n > blocks*cache.BlockSize {
					n = blocks*cache.BlockSize - off
				}
				data := make([]byte, n)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				if _, err := f.WriteAt(data, int64(off)); err != nil {
					errs <- err
					return
				}
				copy(want[w][off:], data)
				// The shared file: this writer owns blocks w, w+writers, ...
				b := (rng.IntN(blocks)*writers + w) * cache.BlockSize
				if _, err := shared.WriteAt(data[:min(n, cache.BlockSize)], int64(b)); err != nil {
					errs <- err
					return
				}
				copy(wantShared[b:], data[:min(n, cache.BlockSize)])
				switch rng.IntN(8) {
				case 0:
					err = f.Sync()
				case 1:
					err = unix.Fdatasync(int(shared.Fd()))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- f.Sync()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := shared.Sync(); err != nil {
		t.Fatal(err)
	}
	if r := m.cutThaw(); r.DroppedBytes != 0 {
		t.Fatalf("everything was synced, yet the cut dropped %d bytes", r.DroppedBytes)
	}
	for w := range writers {
		got := readFile(t, m.b(fmt.Sprintf("w%d", w)))
		got = append(got, make([]byte, len(want[w])-len(got))...)
		if !bytes.Equal(got, want[w]) {
			t.Fatalf("writer %d's file differs on disk", w)
		}
	}
	got := readFile(t, m.b("shared"))
	got = append(got, make([]byte, len(wantShared)-len(got))...)
	if !bytes.Equal(got, wantShared) {
		t.Fatal("the shared file differs on disk")
	}
	if s := m.Stats(); s.WrittenBackBytes == 0 || s.Writes != 2*writers*rounds {
		t.Fatalf("written back %d, writes %d (want > 0 and %d)", s.WrittenBackBytes, s.Writes, 2*writers*rounds)
	}
}
