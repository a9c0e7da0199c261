package layer

import (
	"context"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"storage-conformance.local/lazyfs/internal/cache"
)

var (
	_ fs.NodeGetattrer = (*Node)(nil)
	_ fs.NodeSetattrer = (*Node)(nil)
	_ fs.NodeStatxer   = (*Node)(nil)
)

// Getattr answers from the backing file, with the cached size and mtime
// over it while the inode has unsynced data.
func (n *Node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	var st syscall.Stat_t
	var err error
	if f, put := n.fileOf(fh); f != nil {
		err = f.Fstat(&st)
		put()
	} else if n.isRoot() {
		err = syscall.Stat(n.path(), &st)
	} else {
		err = syscall.Lstat(n.path(), &st)
	}
	if err != nil {
		return fs.ToErrno(err)
	}
	out.FromStat(&st)
	return 0
}

func (n *Node) Statx(ctx context.Context, fh fs.FileHandle, flags uint32, mask uint32, out *fuse.StatxOut) syscall.Errno {
	f, put := n.fileOf(fh)
	defer put()
	if f == nil {
		return n.LoopbackNode.Statx(ctx, nil, flags, mask, out)
	}
	return fs.ToErrno(f.View(func(fd int, dirtyEnd int64, mtime time.Time) error {
		var sx unix.Statx_t
		if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|int(flags)&atStatxSyncType, int(mask), &sx); err != nil {
			return err
		}
		if dirtyEnd > int64(sx.Size) {
			sx.Size = uint64(dirtyEnd)
		}
		if !mtime.IsZero() && mtime.UnixNano() > sx.Mtime.Sec*1e9+int64(sx.Mtime.Nsec) {
			sx.Mtime = unix.StatxTimestamp{Sec: mtime.Unix(), Nsec: uint32(mtime.Nanosecond())}
			sx.Ctime = sx.Mtime
		}
		out.FromStatx(&sx)
		return nil
	}))
}

// Setattr changes metadata at once, on the backing file (through the
// cache's descriptor when it holds one, so an unlinked open file works too).
// A size change is a truncate through the cache.
func (n *Node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	f, put := n.fileOf(fh)
	var err error
	if f != nil {
		err = setattrFile(f, in)
	} else {
		err = setattrPath(n.path(), in)
	}
	put()
	if err != nil {
		return fs.ToErrno(err)
	}
	return n.Getattr(ctx, fh, out)
}

func ownerArgs(in *fuse.SetAttrIn) (uid, gid int, ok bool) {
	uid, gid = -1, -1
	if u, uok := in.GetUID(); uok {
		uid, ok = int(u), true
	}
	if g, gok := in.GetGID(); gok {
		gid, ok = int(g), true
	}
	return uid, gid, ok
}

func timeArgs(in *fuse.SetAttrIn) (ts [2]unix.Timespec, ok bool, err error) {
	ts = [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
	if a, aok := in.GetATime(); aok {
		if ts[0], err = unix.TimeToTimespec(a); err != nil {
			return ts, false, err
		}
		ok = true
	}
	if m, mok := in.GetMTime(); mok {
		if ts[1], err = unix.TimeToTimespec(m); err != nil {
			return ts, false, err
		}
		ok = true
	}
	return ts, ok, nil
}

func setattrFile(f *cache.File, in *fuse.SetAttrIn) error {
	if m, ok := in.GetMode(); ok {
		if err := f.View(func(fd int, _ int64, _ time.Time) error { return syscall.Fchmod(fd, m) }); err != nil {
			return err
		}
	}
	if uid, gid, ok := ownerArgs(in); ok {
		if err := f.View(func(fd int, _ int64, _ time.Time) error { return syscall.Fchown(fd, uid, gid) }); err != nil {
			return err
		}
	}
	// Truncate before setting times, so an explicit mtime stands.
	if sz, ok := in.GetSize(); ok {
		if err := f.Truncate(int64(sz)); err != nil {
			return err
		}
	}
	ts, ok, err := timeArgs(in)
	if err != nil || !ok {
		return err
	}
	return f.SetTimes(&ts)
}

// setattrPath is the loopback's path-based Setattr, for inodes the cache
// does not hold (no unsynced data): directories, symlinks, closed files.
func setattrPath(p string, in *fuse.SetAttrIn) error {
	if m, ok := in.GetMode(); ok {
		if err := syscall.Chmod(p, m); err != nil {
			return err
		}
	}
	if uid, gid, ok := ownerArgs(in); ok {
		if err := unix.Fchownat(unix.AT_FDCWD, p, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	if sz, ok := in.GetSize(); ok {
		if err := syscall.Truncate(p, int64(sz)); err != nil {
			return err
		}
	}
	ts, ok, err := timeArgs(in)
	if err != nil || !ok {
		return err
	}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts[:], unix.AT_SYMLINK_NOFOLLOW)
}

// atStatxSyncType is AT_STATX_SYNC_TYPE: the statx flags a descriptor-based
// statx keeps from the caller's.
const atStatxSyncType = 0x6000
