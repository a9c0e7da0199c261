// Package cache is LazyFS's page cache rebuilt: per-inode dirty 4 KiB blocks
// held in this process's memory until they are persisted (written to the
// backing file) or dropped. It knows nothing of FUSE: the layer above maps
// file system operations onto it, as lazyfs maps FUSE calls onto libpcache.
package cache

import (
	"container/list"
	"os"
	"sort"
	"sync"
	"sync/atomic"
)

// BlockSize is the unit the cache holds, persists and drops.
const BlockSize = 4096

// Cache holds the open and the dirty files, keyed by the inode number the
// layer gives them.
//
// Lock order: File.mu before Cache.mu; never the other way round.
type Cache struct {
	mu    sync.Mutex
	files map[uint64]*File
	fifo  list.List // *block, in the order they first became dirty

	maxDirty int64
	wbMu     sync.Mutex // one writer at a time writes back over the limit

	dirtyBytes  atomic.Int64
	dirtyBlocks atomic.Int64
	dirtyFiles  atomic.Int64

	persistedBytes    atomic.Int64 // by fsync, O_SYNC writes, checkpoints, lie flushes
	writtenBackBytes  atomic.Int64 // by the max-dirty write-back
	writtenBackBlocks atomic.Int64
	writebackErrors   atomic.Int64
	unlinkedDropped   atomic.Int64 // dirty bytes of files deleted before any sync
}

// New returns a cache that writes back its oldest dirty blocks once it holds
// more than maxDirty dirty bytes (0: no limit).
func New(maxDirty int64) *Cache {
	return &Cache{files: map[uint64]*File{}, maxDirty: maxDirty}
}

// MaxDirty is the write-back threshold in bytes.
func (c *Cache) MaxDirty() int64 { return c.maxDirty }

// Counters is a snapshot of the cache's gauges and counters.
type Counters struct {
	DirtyBytes        int64 `json:"dirty_bytes"`
	DirtyBlocks       int64 `json:"dirty_blocks"`
	DirtyFiles        int64 `json:"dirty_files"`
	CachedFiles       int64 `json:"cached_files"` // open or holding dirty data
	PersistedBytes    int64 `json:"persisted_bytes"`
	WrittenBackBytes  int64 `json:"written_back_bytes"`
	WrittenBackBlocks int64 `json:"written_back_blocks"`
	WritebackErrors   int64 `json:"writeback_errors"`
	UnlinkedDropped   int64 `json:"unlinked_dropped_bytes"`
	MaxDirty          int64 `json:"max_dirty"`
}

// Counters reads the gauges and counters.
func (c *Cache) Counters() Counters {
	c.mu.Lock()
	open := int64(len(c.files))
	c.mu.Unlock()
	return Counters{
		DirtyBytes:        c.dirtyBytes.Load(),
		DirtyBlocks:       c.dirtyBlocks.Load(),
		DirtyFiles:        c.dirtyFiles.Load(),
		CachedFiles:       open,
		PersistedBytes:    c.persistedBytes.Load(),
		WrittenBackBytes:  c.writtenBackBytes.Load(),
		WrittenBackBlocks: c.writtenBackBlocks.Load(),
		WritebackErrors:   c.writebackErrors.Load(),
		UnlinkedDropped:   c.unlinkedDropped.Load(),
		MaxDirty:          c.maxDirty,
	}
}

// Opener opens the backing file, read-write if it can; writable reports
// which it got. need says whether a read-only descriptor will do.
type Opener func(needWrite bool) (f *os.File, writable bool, err error)

// Open returns the inode's file with one more reference, opening its backing
// file if the cache holds none yet (or only a read-only one and a writer
// comes). Every Open or Get is paired with a Put.
func (c *Cache) Open(key uint64, needWrite bool, open Opener) (*File, error) {
	f := c.ref(key, true)
	f.mu.Lock()
	if f.fd == nil || (needWrite && !f.writable) {
		fd, writable, err := open(needWrite)
		if err != nil {
			f.mu.Unlock()
			c.Put(f)
			return nil, err
		}
		if f.fd != nil {
			f.fd.Close()
		}
		f.fd, f.writable = fd, writable
	}
	f.mu.Unlock()
	return f, nil
}

// Adopt is Open for a backing file the caller has just created and opened
// read-write; the cache owns fd from now on.
func (c *Cache) Adopt(key uint64, fd *os.File) *File {
	f := c.ref(key, true)
	f.mu.Lock()
	if f.fd == nil || !f.writable {
		if f.fd != nil {
			f.fd.Close()
		}
		f.fd, f.writable = fd, true
	} else {
		fd.Close()
	}
	f.mu.Unlock()
	return f
}

// Get returns the inode's file with one more reference, or nil if the cache
// holds nothing for it (then it has no dirty data).
func (c *Cache) Get(key uint64) *File { return c.ref(key, false) }

func (c *Cache) ref(key uint64, create bool) *File {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.files[key]
	if f == nil {
		if !create {
			return nil
		}
		f = &File{c: c, key: key, blocks: map[int64]*block{}}
		c.files[key] = f
	}
	f.refs++
	return f
}

// Put drops a reference. The last one closes a clean file's backing
// descriptor; the last one of a file whose every name is gone drops its dirty
// data, which no one can sync any more (a deleted file's dirty pages die with
// it).
func (c *Cache) Put(f *File) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c.mu.Lock()
	f.refs--
	last := f.refs == 0
	c.mu.Unlock()
	if !last {
		return
	}
	if f.dirty() && f.fd != nil {
		var st os.FileInfo
		st, err := f.fd.Stat()
		if err == nil && nlink(st) == 0 {
			bytes, _ := f.dropLocked()
			c.unlinkedDropped.Add(bytes)
		}
	}
	if f.dirty() {
		return // kept, with its descriptor, until synced or dropped
	}
	c.mu.Lock()
	if f.refs == 0 && c.files[f.key] == f {
		delete(c.files, f.key)
		if f.fd != nil {
			f.fd.Close()
			f.fd = nil
		}
	}
	c.mu.Unlock()
}

// Reap is called after a name of the inode was removed (unlink, rename over
// it): if that was its last name and no one holds it open, its dirty data is
// dropped now.
func (c *Cache) Reap(key uint64) {
	if f := c.Get(key); f != nil {
		c.Put(f)
	}
}

// snapshot returns every file holding dirty data, referenced, in inode order
// (so that torn cuts are reproducible from a seed).
func (c *Cache) snapshot() []*File {
	c.mu.Lock()
	fs := make([]*File, 0, len(c.files))
	for _, f := range c.files {
		f.refs++
		fs = append(fs, f)
	}
	c.mu.Unlock()
	sort.Slice(fs, func(i, j int) bool { return fs[i].key < fs[j].key })
	return fs
}

// addBlock links a newly dirty block (File.mu held).
func (c *Cache) addBlock(b *block) {
	c.mu.Lock()
	b.elem = c.fifo.PushBack(b)
	c.mu.Unlock()
	c.dirtyBlocks.Add(1)
}

// removeBlock unlinks a block that is clean or dropped now (File.mu held).
func (c *Cache) removeBlock(b *block) {
	c.mu.Lock()
	if b.elem != nil {
		c.fifo.Remove(b.elem)
		b.elem = nil
	}
	c.mu.Unlock()
	c.dirtyBlocks.Add(-1)
	c.dirtyBytes.Add(-int64(b.hi - b.lo))
}

func nlink(st os.FileInfo) uint64 {
	if s, ok := sysStat(st); ok {
		return uint64(s.Nlink)
	}
	return 1
}
