package cache

import (
	"math/rand/v2"
)

// FileReport is what a sweep (cut, torn cut, checkpoint) did to one file.
type FileReport struct {
	Key           uint64
	Tag           any
	DroppedBytes  int64
	DroppedBlocks int64
	KeptBytes     int64
	KeptBlocks    int64
}

// Report sums a sweep over every dirty file.
type Report struct {
	DirtyBytesBefore  int64        `json:"dirty_bytes_before"`
	DirtyBlocksBefore int64        `json:"dirty_blocks_before"`
	DirtyFilesBefore  int64        `json:"dirty_files_before"`
	DroppedBytes      int64        `json:"dropped_bytes"`
	DroppedBlocks     int64        `json:"dropped_blocks"`
	DroppedFiles      int64        `json:"dropped_files"`
	KeptBytes         int64        `json:"kept_bytes"`
	KeptBlocks        int64        `json:"kept_blocks"`
	Errors            int64        `json:"errors"`
	Files             []FileReport `json:"-"`
}

// DropAll forgets every unsynced byte: the power cut.
func (c *Cache) DropAll() Report {
	return c.sweep(func(*block) bool { return false }, true)
}

// Torn persists each dirty block independently with probability 1/2 drawn
// from rng (blocks visited in inode, then block order) and drops the rest: a
// power cut in the middle of the device writing back its cache.
func (c *Cache) Torn(rng *rand.Rand) Report {
	return c.sweep(func(*block) bool { return rng.IntN(2) == 0 }, true)
}

// PersistAll writes every dirty byte and size (LazyFS's cache-checkpoint,
// and the lying disk's background flush). What fails to be written stays
// dirty.
func (c *Cache) PersistAll() Report {
	return c.sweep(func(*block) bool { return true }, false)
}

// sweep persists the blocks keep chooses; with cut, it then drops the rest
// and the unsynced size (a cut persists no size: only what the persisted
// blocks extend). Without cut, everything is kept and the size persisted.
func (c *Cache) sweep(keep func(*block) bool, cut bool) Report {
	r := Report{
		DirtyBytesBefore:  c.dirtyBytes.Load(),
		DirtyBlocksBefore: c.dirtyBlocks.Load(),
		DirtyFilesBefore:  c.dirtyFiles.Load(),
	}
	for _, f := range c.snapshot() {
		f.mu.Lock()
		if f.dirty() {
			fr := FileReport{Key: f.key, Tag: f.Tag()}
			var kept []*block
			for _, b := range f.sortedBlocks() {
				if keep(b) {
					kept = append(kept, b)
				}
			}
			n, err := f.persistLocked(kept, !cut)
			if err != nil {
				r.Errors++
			}
			fr.KeptBytes = n
			fr.KeptBlocks = int64(len(kept) - countLeft(f, kept))
			c.persistedBytes.Add(n)
			if cut {
				fr.DroppedBytes, fr.DroppedBlocks = f.dropLocked()
			}
			r.KeptBytes += fr.KeptBytes
			r.KeptBlocks += fr.KeptBlocks
			r.DroppedBytes += fr.DroppedBytes
			r.DroppedBlocks += fr.DroppedBlocks
			if fr.DroppedBlocks > 0 || (cut && fr.KeptBlocks == 0) {
				r.DroppedFiles++
			}
			r.Files = append(r.Files, fr)
		}
		f.mu.Unlock()
		c.Put(f)
	}
	return r
}

// WritebackOver writes back the oldest dirty blocks (by when they first
// became dirty) while the cache holds more than its limit: what the kernel's
// writeback would have put on the disk anyway. The writer that crossed the
// limit does it before its write returns, as balance_dirty_pages throttles
// a writer. It returns the bytes it wrote.
func (c *Cache) WritebackOver() int64 {
	if c.maxDirty <= 0 || c.dirtyBytes.Load() <= c.maxDirty {
		return 0
	}
	c.wbMu.Lock()
	defer c.wbMu.Unlock()
	var total int64
	for c.dirtyBytes.Load() > c.maxDirty {
		c.mu.Lock()
		e := c.fifo.Front()
		if e == nil {
			c.mu.Unlock()
			break
		}
		b := e.Value.(*block)
		f := b.f
		f.refs++
		c.mu.Unlock()

		f.mu.Lock()
		var err error
		if f.blocks[b.idx] == b {
			n := int64(b.hi - b.lo)
			if _, err = f.persistLocked([]*block{b}, false); err == nil {
				total += n
				c.writtenBackBytes.Add(n)
				c.writtenBackBlocks.Add(1)
			}
		}
		f.mu.Unlock()
		c.Put(f)
		if err != nil {
			c.writebackErrors.Add(1)
			break
		}
	}
	return total
}

// countLeft counts the blocks of bs still dirty in f (not written).
func countLeft(f *File, bs []*block) int {
	n := 0
	for _, b := range bs {
		if f.blocks[b.idx] == b {
			n++
		}
	}
	return n
}
