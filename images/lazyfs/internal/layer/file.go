package layer

import (
	"context"
	"os"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"storage-conformance.local/lazyfs/internal/cache"
)

// handle is an open file: a reference on the inode's cache entry. It
// implements no FileXxx data interface on purpose (no passthrough, no
// direct backing I/O): the Node's methods serve its data.
type handle struct {
	lfs  *FS
	f    *cache.File
	sync bool // opened O_SYNC or O_DSYNC: every write persists before it returns
}

var _ fs.FileReleaser = (*handle)(nil)

func (l *FS) newHandle(f *cache.File, flags uint32) *handle {
	l.handles.Add(1)
	return &handle{lfs: l, f: f, sync: flags&syscall.O_DSYNC != 0}
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	h.lfs.handles.Add(-1)
	h.lfs.cache.Put(h.f)
	return 0
}

var (
	_ fs.NodeOpener         = (*Node)(nil)
	_ fs.NodeReader         = (*Node)(nil)
	_ fs.NodeWriter         = (*Node)(nil)
	_ fs.NodeWritever       = (*Node)(nil)
	_ fs.NodeFsyncer        = (*Node)(nil)
	_ fs.NodeAllocater      = (*Node)(nil)
	_ fs.NodeCopyFileRanger = (*Node)(nil)
)

// opener opens the node's backing file for the cache, read-write when the
// backing file allows it, and checks it is still the inode it names.
func (n *Node) opener(key uint64) cache.Opener {
	return func(needWrite bool) (*os.File, bool, error) {
		p := n.path()
		const fl = syscall.O_NOFOLLOW | syscall.O_CLOEXEC
		writable := true
		fd, err := syscall.Open(p, syscall.O_RDWR|fl, 0)
		if err != nil && !needWrite && (err == syscall.EACCES || err == syscall.EROFS || err == syscall.ETXTBSY || err == syscall.EPERM) {
			writable = false
			fd, err = syscall.Open(p, syscall.O_RDONLY|fl, 0)
		}
		if err != nil {
			return nil, false, err
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || n.lfs.keyOf(&st) != key {
			syscall.Close(fd)
			if err == nil {
				err = syscall.ESTALE
			}
			return nil, false, err
		}
		return os.NewFile(uintptr(fd), p), writable, nil
	}
}

func (n *Node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	key := n.StableAttr().Ino
	needWrite := flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
	f, err := n.lfs.cache.Open(key, needWrite, n.opener(key))
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	f.SetTag(n.EmbeddedInode())
	h := n.lfs.newHandle(f, flags)
	if flags&syscall.O_TRUNC != 0 {
		// Only with atomic O_TRUNC, which go-fuse does not ask for; the
		// kernel then truncates with SETATTR.
		if errno := n.lfs.enter(ctx.Done()); errno != 0 {
			h.Release(ctx)
			return nil, 0, errno
		}
		err := f.Truncate(0)
		n.lfs.gate.leave()
		if err != nil {
			h.Release(ctx)
			return nil, 0, fs.ToErrno(err)
		}
	}
	return h, n.lfs.openFlags(), 0
}

// fileOf is the cache entry behind fh, or (referenced; the caller Puts it)
// the inode's entry if fh is not a handle; nil if the cache holds nothing.
func (n *Node) fileOf(fh fs.FileHandle) (f *cache.File, put func()) {
	if h, ok := fh.(*handle); ok {
		return h.f, func() {}
	}
	if f := n.lfs.cache.Get(n.StableAttr().Ino); f != nil {
		return f, func() { n.lfs.cache.Put(f) }
	}
	return nil, func() {}
}

func (n *Node) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h, ok := fh.(*handle)
	if !ok {
		return nil, syscall.EBADF
	}
	m, err := h.f.ReadAt(dest, off)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return fuse.ReadResultData(dest[:m]), 0
}

func (n *Node) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, ok := fh.(*handle)
	if !ok {
		return 0, syscall.EBADF
	}
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return 0, errno
	}
	defer n.lfs.gate.leave()
	written, errno := n.lfs.write(h, data, off)
	if errno == 0 {
		n.lfs.fireOnWrite(n)
	}
	return written, errno
}

func (n *Node) Writev(ctx context.Context, fh fs.FileHandle, data [][]byte, off int64) (uint32, syscall.Errno) {
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	return n.Write(ctx, fh, all, off)
}

// write puts data into the cache; through an O_SYNC/O_DSYNC handle it also
// persists it (honest mode); past the dirty limit it writes back the oldest
// blocks. Gate held.
func (l *FS) write(h *handle, data []byte, off int64) (uint32, syscall.Errno) {
	m, err := h.f.WriteAt(data, off)
	l.writes.Add(1)
	l.bytesWritten.Add(int64(m))
	if err != nil {
		return uint32(m), fs.ToErrno(err)
	}
	if h.sync {
		l.syncWrites.Add(1)
		if l.opts.Mode == Honest {
			if _, err := h.f.PersistRange(off, int64(m), l.opts.SyncBacking); err != nil {
				l.syncErrors.Add(1)
				return 0, fs.ToErrno(err)
			}
		}
	}
	l.cache.WritebackOver()
	return uint32(m), 0
}

// Fsync persists all of the inode's dirty data and size, whichever handle
// it comes through (honest mode); a lying layer only counts it.
func (n *Node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	if n.IsDir() {
		n.lfs.fsyncdirs.Add(1)
		return 0
	}
	if flags&fsyncFdatasync != 0 {
		n.lfs.fdatasyncs.Add(1)
	} else {
		n.lfs.fsyncs.Add(1)
	}
	if n.lfs.opts.Mode == Lying {
		return 0
	}
	f, put := n.fileOf(fh)
	defer put()
	if f == nil {
		return 0
	}
	if _, err := f.Persist(n.lfs.opts.SyncBacking); err != nil {
		n.lfs.syncErrors.Add(1)
		return fs.ToErrno(err)
	}
	return 0
}

// Allocate passes fallocate(2) to the backing file at once (allocation is
// metadata). Collapsing and inserting ranges are refused.
func (n *Node) Allocate(ctx context.Context, fh fs.FileHandle, off uint64, size uint64, mode uint32) syscall.Errno {
	if mode&^uint32(unix.FALLOC_FL_KEEP_SIZE|unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_ZERO_RANGE) != 0 {
		return syscall.EOPNOTSUPP
	}
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	f, put := n.fileOf(fh)
	defer put()
	if f == nil {
		return syscall.EBADF
	}
	return fs.ToErrno(f.Allocate(mode, int64(off), int64(size)))
}

// CopyFileRange copies through the cache: read (with the source's dirty
// data) and write (into the destination's cache), at most 4 MiB a call.
func (n *Node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut uint64, size uint64, flags uint64) (uint32, syscall.Errno) {
	in, ok1 := fhIn.(*handle)
	dst, ok2 := fhOut.(*handle)
	if !ok1 || !ok2 {
		return 0, syscall.EBADF
	}
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return 0, errno
	}
	defer n.lfs.gate.leave()
	n.lfs.copyRanges.Add(1)
	buf := make([]byte, min(size, 4<<20))
	m, err := in.f.ReadAt(buf, int64(offIn))
	if err != nil {
		return 0, fs.ToErrno(err)
	}
	if m == 0 {
		return 0, 0
	}
	return n.lfs.write(dst, buf[:m], int64(offOut))
}

// fsyncFdatasync is FUSE_FSYNC_FDATASYNC, the FSYNC flag of fdatasync(2).
const fsyncFdatasync = 1
