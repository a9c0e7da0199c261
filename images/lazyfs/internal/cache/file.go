package cache

import (
	"container/list"
	"errors"
	"io"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// File is one inode's state: its backing descriptor and its dirty blocks.
type File struct {
	c   *Cache
	key uint64

	refs int // guarded by Cache.mu

	tag tagBox

	mu       sync.RWMutex
	fd       *os.File
	writable bool
	blocks   map[int64]*block
	// dirtyEnd is the end of the data written since the file was last
	// persisted or dropped: the file's visible size is the larger of it and
	// the backing file's size. Persisting the file writes the size too.
	dirtyEnd int64
	// mtime is when the file was last written through the cache (zero: the
	// backing file's own mtime stands).
	mtime time.Time
	// timesSet: an explicit mtime was set after the last cached write (tar
	// does that), so persisting must put it back after its pwrites.
	timesSet bool
}

// block is one dirty 4 KiB block. data holds the whole block: the bytes
// outside [lo,hi) were read from the backing file when the block first
// became dirty, so a read can take the whole block from here.
type block struct {
	f      *File
	idx    int64
	data   []byte
	lo, hi int           // the dirty extent: what persisting writes and what dropping loses
	elem   *list.Element // in Cache.fifo while dirty
}

func (b *block) start() int64 { return b.idx * BlockSize }

// Key is the inode number the file is cached under.
func (f *File) Key() uint64 { return f.key }

// SetTag attaches the layer's handle on the inode (for invalidating the
// kernel's cache of it after a cut).
func (f *File) SetTag(t any) { f.tag.set(t) }

// Tag returns what SetTag stored.
func (f *File) Tag() any { return f.tag.get() }

func (f *File) dirty() bool { return len(f.blocks) > 0 || f.dirtyEnd > 0 }

// View calls fn with the backing descriptor, the unsynced end of the file
// and the time of its last cached write, under the read lock: an attribute
// reply built inside fn is consistent with the cached data.
func (f *File) View(fn func(fd int, dirtyEnd int64, mtime time.Time) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.fd == nil {
		return syscall.EBADF
	}
	return fn(int(f.fd.Fd()), f.dirtyEnd, f.mtime)
}

// Fstat stats the backing file and overlays what the cache holds: the size
// is the larger of the backing size and the end of the unsynced data, the
// mtime that of the last cached write.
func (f *File) Fstat(st *syscall.Stat_t) error {
	return f.View(func(fd int, dirtyEnd int64, mtime time.Time) error {
		if err := syscall.Fstat(fd, st); err != nil {
			return err
		}
		Overlay(st, dirtyEnd, mtime)
		return nil
	})
}

// Overlay applies a cached size and mtime to a stat of the backing file.
func Overlay(st *syscall.Stat_t, dirtyEnd int64, mtime time.Time) {
	if dirtyEnd > st.Size {
		st.Size = dirtyEnd
		if b := (dirtyEnd + 511) / 512; b > st.Blocks {
			st.Blocks = b
		}
	}
	if !mtime.IsZero() {
		ts := syscall.NsecToTimespec(mtime.UnixNano())
		if ts.Sec > st.Mtim.Sec || (ts.Sec == st.Mtim.Sec && ts.Nsec > st.Mtim.Nsec) {
			st.Mtim = ts
			st.Ctim = ts
		}
	}
}

func (f *File) backingSize() (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.fd.Fd()), &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

// ReadAt reads through the cache: dirty blocks over the backing file, zeros
// in the holes, up to the visible size.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.fd == nil {
		return 0, syscall.EBADF
	}
	if !f.dirty() {
		n, err := f.fd.ReadAt(p, off)
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return n, err
	}
	size, err := f.backingSize()
	if err != nil {
		return 0, err
	}
	size = max(size, f.dirtyEnd)
	if off >= size || len(p) == 0 {
		return 0, nil
	}
	n := int(min(int64(len(p)), size-off))
	m, err := f.fd.ReadAt(p[:n], off)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	clear(p[m:n])
	end := off + int64(n)
	for idx := off / BlockSize; idx*BlockSize < end; idx++ {
		b := f.blocks[idx]
		if b == nil {
			continue
		}
		from := max(off, b.start())
		to := min(end, b.start()+BlockSize)
		copy(p[from-off:to-off], b.data[from-b.start():to-b.start()])
	}
	return n, nil
}

// WriteAt puts p into the cache at off. Nothing reaches the backing file.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd == nil || !f.writable {
		return 0, syscall.EBADF
	}
	if len(p) == 0 {
		return 0, nil
	}
	end := off + int64(len(p))
	for pos := off; pos < end; {
		idx := pos / BlockSize
		bo := int(pos - idx*BlockSize)
		n := int(min(int64(BlockSize-bo), end-pos))
		b := f.blocks[idx]
		if b == nil {
			b = &block{f: f, idx: idx, data: make([]byte, BlockSize), lo: bo, hi: bo + n}
			if n != BlockSize {
				// A partial block is filled from the backing file first.
				if _, err := f.fd.ReadAt(b.data, b.start()); err != nil && !errors.Is(err, io.EOF) {
					return int(pos - off), err
				}
			}
			if len(f.blocks) == 0 {
				f.c.dirtyFiles.Add(1)
			}
			f.blocks[idx] = b
			f.c.addBlock(b)
			f.c.dirtyBytes.Add(int64(n))
		} else {
			was := b.hi - b.lo
			b.lo, b.hi = min(b.lo, bo), max(b.hi, bo+n)
			f.c.dirtyBytes.Add(int64(b.hi - b.lo - was))
		}
		copy(b.data[bo:bo+n], p[pos-off:])
		pos += int64(n)
	}
	f.dirtyEnd = max(f.dirtyEnd, end)
	f.mtime = time.Now()
	f.timesSet = false
	return len(p), nil
}

// Persist writes every dirty block of the file and its size to the backing
// file (fsync and fdatasync of any handle of the inode). With sync, the
// backing file is fsynced too. It returns the bytes written.
func (f *File) Persist(sync bool) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.persistLocked(f.sortedBlocks(), true)
	f.c.persistedBytes.Add(n)
	if err == nil && sync && f.fd != nil {
		err = f.fd.Sync()
	}
	return n, err
}

// PersistRange writes the dirty blocks that overlap [off, off+n) (a write
// through an O_SYNC or O_DSYNC handle).
func (f *File) PersistRange(off, n int64, sync bool) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var bs []*block
	for idx := off / BlockSize; idx*BlockSize < off+n; idx++ {
		if b := f.blocks[idx]; b != nil {
			bs = append(bs, b)
		}
	}
	w, err := f.persistLocked(bs, false)
	f.c.persistedBytes.Add(w)
	if err == nil && sync && f.fd != nil {
		err = f.fd.Sync()
	}
	return w, err
}

func (f *File) sortedBlocks() []*block {
	bs := make([]*block, 0, len(f.blocks))
	for _, b := range f.blocks {
		bs = append(bs, b)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].idx < bs[j].idx })
	return bs
}

// persistLocked writes bs (in index order) to the backing file, coalescing
// runs of adjacent extents, and forgets them; with size, it also extends
// the backing file to the visible size. A block is forgotten only once
// written. The backing mtime is then that of the persist (as close to the
// writes as a kernel's would be), unless an explicit mtime was set after
// the last write: that one is put back. (Restoring the mtime on every
// persist would dirty the backing inode and make --fsync-backing commit the
// journal on every fsync.)
func (f *File) persistLocked(bs []*block, size bool) (int64, error) {
	if f.fd == nil {
		return 0, syscall.EBADF
	}
	if len(bs) == 0 && !(size && f.dirtyEnd > 0) {
		return 0, nil
	}
	var before syscall.Stat_t
	if f.timesSet {
		if err := syscall.Fstat(int(f.fd.Fd()), &before); err != nil {
			return 0, err
		}
	}
	var written int64
	var buf []byte
	for i := 0; i < len(bs); {
		j := i + 1
		for j < len(bs) && bs[j].idx == bs[j-1].idx+1 && bs[j-1].hi == BlockSize && bs[j].lo == 0 && j-i < 256 {
			j++
		}
		off := bs[i].start() + int64(bs[i].lo)
		buf = buf[:0]
		for _, b := range bs[i:j] {
			buf = append(buf, b.data[b.lo:b.hi]...)
		}
		if _, err := f.fd.WriteAt(buf, off); err != nil {
			f.restoreMtime(&before)
			return written, err
		}
		for _, b := range bs[i:j] {
			f.forget(b)
		}
		written += int64(len(buf))
		i = j
	}
	if size {
		if sz, err := f.backingSize(); err == nil && f.dirtyEnd > sz {
			if err := f.fd.Truncate(f.dirtyEnd); err != nil {
				return written, err
			}
		}
		if len(f.blocks) == 0 {
			f.dirtyEnd = 0
		}
	} else if len(f.blocks) == 0 {
		if sz, err := f.backingSize(); err == nil && sz >= f.dirtyEnd {
			f.dirtyEnd = 0
		}
	}
	f.restoreMtime(&before)
	return written, nil
}

func (f *File) restoreMtime(before *syscall.Stat_t) {
	if f.timesSet {
		_ = futimens(int(f.fd.Fd()), &[2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.Timespec(before.Mtim)})
	}
	if !f.dirty() {
		f.mtime = time.Time{}
		f.timesSet = false
	}
}

// forget removes a block from the file and the cache (File.mu held).
func (f *File) forget(b *block) {
	delete(f.blocks, b.idx)
	f.c.removeBlock(b)
	if len(f.blocks) == 0 {
		f.c.dirtyFiles.Add(-1)
	}
}

// dropLocked forgets every dirty block and the unsynced size.
func (f *File) dropLocked() (bytes, blocks int64) {
	for _, b := range f.blocks {
		bytes += int64(b.hi - b.lo)
		blocks++
		f.forget(b)
	}
	f.dirtyEnd = 0
	f.mtime = time.Time{}
	return bytes, blocks
}

// Truncate sets the size. Truncation is metadata: it reaches the backing
// file at once; the cache forgets the dirty bytes past the new end.
func (f *File) Truncate(size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd == nil {
		return syscall.EBADF
	}
	if err := f.fd.Truncate(size); err != nil {
		return err
	}
	f.cutRange(size, -1, true)
	f.dirtyEnd = min(f.dirtyEnd, size)
	if !f.dirty() {
		f.mtime = time.Time{}
	}
	return nil
}

// cutRange zeroes [from, to) in the dirty blocks (to < 0: to the end),
// forgetting the blocks it covers whole; with trim, the extents of the
// blocks it cuts into shrink to end at from (truncation).
func (f *File) cutRange(from, to int64, trim bool) {
	for _, b := range f.blocks {
		s, e := b.start(), b.start()+BlockSize
		lo, hi := max(from, s), e
		if to >= 0 {
			hi = min(to, e)
		}
		if lo >= hi {
			continue
		}
		if lo == s && hi == e {
			f.forget(b)
			continue
		}
		clear(b.data[lo-s : hi-s])
		if trim {
			newHi := min(b.hi, int(lo-s))
			if newHi <= b.lo {
				f.forget(b)
				continue
			}
			f.c.dirtyBytes.Add(int64(newHi - b.hi))
			b.hi = newHi
		}
	}
}

// Allocate runs fallocate(2) on the backing file (allocation and size are
// metadata: they reach the backing file at once). Punching a hole or
// zeroing a range also zeroes those bytes in the dirty blocks.
func (f *File) Allocate(mode uint32, off, n int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd == nil {
		return syscall.EBADF
	}
	if err := unix.Fallocate(int(f.fd.Fd()), mode, off, n); err != nil {
		return err
	}
	if mode&(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_ZERO_RANGE) != 0 {
		f.cutRange(off, off+n, false)
	}
	return nil
}

// SetTimes sets atime and/or mtime on the backing file; an explicit mtime
// replaces that of the last cached write.
func (f *File) SetTimes(ts *[2]unix.Timespec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd == nil {
		return syscall.EBADF
	}
	if err := futimens(int(f.fd.Fd()), ts); err != nil {
		return err
	}
	if ts[1].Nsec != unix.UTIME_OMIT {
		f.mtime = time.Time{}
		f.timesSet = f.dirty()
	}
	return nil
}
