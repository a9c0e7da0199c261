package layer

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirHandle is the loopback's directory stream with a counted Fsyncdir.
// Directory entries are persisted when they change (LazyFS's metadata
// model), so fsyncing a directory has nothing left to persist.
type dirHandle struct {
	lfs   *FS
	inner fs.FileHandle
}

var (
	_ fs.FileReaddirenter = (*dirHandle)(nil)
	_ fs.FileSeekdirer    = (*dirHandle)(nil)
	_ fs.FileReleasedirer = (*dirHandle)(nil)
	_ fs.FileFsyncdirer   = (*dirHandle)(nil)
)

func (n *Node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{lfs: n.lfs, inner: fh}, fl, 0
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if r, ok := d.inner.(fs.FileReaddirenter); ok {
		return r.Readdirent(ctx)
	}
	return nil, syscall.ENOTSUP
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if s, ok := d.inner.(fs.FileSeekdirer); ok {
		return s.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	if r, ok := d.inner.(fs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
	}
}

func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	if errno := d.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer d.lfs.gate.leave()
	d.lfs.fsyncdirs.Add(1)
	if d.lfs.opts.SyncBacking && d.lfs.opts.Mode == Honest {
		if s, ok := d.inner.(fs.FileFsyncdirer); ok {
			return s.Fsyncdir(ctx, flags)
		}
	}
	return 0
}
