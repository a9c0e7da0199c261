package layer

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestSyncLatencyRecord times 4 KiB pwrite+fsync through the layer and on the
// backing directory and logs both (for the record; nothing is asserted).
func TestSyncLatencyRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("timing only")
	}
	m := mount(t, Options{})
	through := timeWriteFsync(t, m.m("lat"), 500)
	direct := timeWriteFsync(t, filepath.Join(m.backing, "direct"), 500)
	s := mount(t, Options{SyncBacking: true})
	synced := timeWriteFsync(t, s.m("lat"), 500)
	t.Logf("4 KiB pwrite+fsync, 500 times: layer p50 %v p99 %v; layer --fsync-backing p50 %v p99 %v; backing dir p50 %v p99 %v",
		through[0], through[1], synced[0], synced[1], direct[0], direct[1])
	t.Logf("p50 ratios to the backing dir: layer %.2fx, layer --fsync-backing %.2fx",
		float64(through[0])/float64(direct[0]), float64(synced[0])/float64(direct[0]))
}

func timeWriteFsync(t *testing.T, p string, n int) [2]time.Duration {
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	ds := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if _, err := f.WriteAt(buf, int64(i%256)*4096); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		ds[i] = time.Since(start)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return [2]time.Duration{ds[n/2], ds[n*99/100]}
}

// BenchmarkWriteFsync is the same through the layer, for go test -bench.
func BenchmarkWriteFsync(b *testing.B) {
	m := mount(b, Options{})
	f, err := os.Create(m.m("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	b.SetBytes(4096)
	for i := 0; b.Loop(); i++ {
		f.WriteAt(buf, int64(i%256)*4096)
		f.Sync()
	}
}
