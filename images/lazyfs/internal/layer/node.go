package layer

import (
	"context"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Node is a LoopbackNode whose namespace operations pass the freeze gate and
// go to the backing directory at once (LazyFS's metadata model), and whose
// file data goes through the cache (file.go, attr.go).
type Node struct {
	*fs.LoopbackNode
	lfs *FS
}

var (
	_ fs.NodeWrapChilder    = (*Node)(nil)
	_ fs.NodeLookuper       = (*Node)(nil)
	_ fs.NodeCreater        = (*Node)(nil)
	_ fs.NodeTmpfiler       = (*Node)(nil)
	_ fs.NodeMkdirer        = (*Node)(nil)
	_ fs.NodeMknoder        = (*Node)(nil)
	_ fs.NodeSymlinker      = (*Node)(nil)
	_ fs.NodeLinker         = (*Node)(nil)
	_ fs.NodeUnlinker       = (*Node)(nil)
	_ fs.NodeRmdirer        = (*Node)(nil)
	_ fs.NodeRenamer        = (*Node)(nil)
	_ fs.NodeSetxattrer     = (*Node)(nil)
	_ fs.NodeRemovexattrer  = (*Node)(nil)
	_ fs.NodeOpendirHandler = (*Node)(nil)
)

// WrapChild makes every node go-fuse creates under a Node a Node.
func (n *Node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if lb, ok := ops.(*fs.LoopbackNode); ok {
		return &Node{LoopbackNode: lb, lfs: n.lfs}
	}
	return ops
}

// path is the node's path in the backing directory.
func (n *Node) path() string {
	return filepath.Join(n.lfs.root.Path, n.Path(n.lfs.root.RootNode.EmbeddedInode()))
}

func (n *Node) isRoot() bool { return n.EmbeddedInode() == n.lfs.root.RootNode.EmbeddedInode() }

// keyOf is the cache key of a backing file: the inode number go-fuse's
// loopback gives it (LoopbackRoot.idFromStat).
func (l *FS) keyOf(st *syscall.Stat_t) uint64 {
	swapped := (uint64(st.Dev) << 32) | (uint64(st.Dev) >> 32)
	swappedRootDev := (l.root.Dev << 32) | (l.root.Dev >> 32)
	return (swapped ^ swappedRootDev) ^ st.Ino
}

// keyAt is the cache key of the regular file at p, if there is one.
func (l *FS) keyAt(p string) (uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return 0, false
	}
	return l.keyOf(&st), true
}

// overlayEntry puts the cached size and mtime of a child into its entry.
func (l *FS) overlayEntry(ch *fs.Inode, out *fuse.Attr) {
	if ch == nil || ch.StableAttr().Mode&syscall.S_IFMT != syscall.S_IFREG {
		return
	}
	f := l.cache.Get(ch.StableAttr().Ino)
	if f == nil {
		return
	}
	defer l.cache.Put(f)
	var st syscall.Stat_t
	if f.Fstat(&st) == nil {
		out.FromStat(&st)
	}
}

func (n *Node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Lookup(ctx, name, out)
	if errno == 0 {
		n.lfs.overlayEntry(ch, &out.Attr)
	}
	return ch, errno
}

// inheritGroup gives a new entry its directory's group when the directory is
// set-group-ID (the loopback chowns new entries to the caller's group).
func (n *Node) inheritGroup(name string, out *fuse.EntryOut) {
	var dst syscall.Stat_t
	if syscall.Stat(n.path(), &dst) != nil || dst.Mode&syscall.S_ISGID == 0 || out.Attr.Gid == dst.Gid {
		return
	}
	if unix.Fchownat(unix.AT_FDCWD, filepath.Join(n.path(), name), -1, int(dst.Gid), unix.AT_SYMLINK_NOFOLLOW) == nil {
		out.Attr.Gid = dst.Gid
	}
}

func (n *Node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return nil, errno
	}
	defer n.lfs.gate.leave()
	ch, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if errno == 0 {
		n.inheritGroup(name, out)
	}
	return ch, errno
}

func (n *Node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return nil, errno
	}
	defer n.lfs.gate.leave()
	ch, errno := n.LoopbackNode.Mknod(ctx, name, mode, rdev, out)
	if errno == 0 {
		n.inheritGroup(name, out)
	}
	return ch, errno
}

func (n *Node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return nil, errno
	}
	defer n.lfs.gate.leave()
	ch, errno := n.LoopbackNode.Symlink(ctx, target, name, out)
	if errno == 0 {
		n.inheritGroup(name, out)
	}
	return ch, errno
}

func (n *Node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return nil, errno
	}
	defer n.lfs.gate.leave()
	ch, errno := n.LoopbackNode.Link(ctx, target, name, out)
	if errno == 0 {
		n.lfs.overlayEntry(ch, &out.Attr)
	}
	return ch, errno
}

// Unlink removes the name at once; if it was the file's last name and no
// handle holds it, its unsynced data is dropped with it.
func (n *Node) Unlink(ctx context.Context, name string) syscall.Errno {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	key, ok := n.lfs.keyAt(filepath.Join(n.path(), name))
	errno := n.LoopbackNode.Unlink(ctx, name)
	if errno == 0 && ok {
		n.lfs.cache.Reap(key)
	}
	return errno
}

func (n *Node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	return n.LoopbackNode.Rmdir(ctx, name)
}

// Rename renames at once. The dirty data stays with the inode (it is keyed
// by inode, not by name); a file renamed over loses its unsynced data if
// that was its last name and no handle holds it.
func (n *Node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	var key uint64
	var ok bool
	if np, isNode := newParent.(*Node); isNode && flags&unix.RENAME_EXCHANGE == 0 {
		key, ok = n.lfs.keyAt(filepath.Join(np.path(), newName))
	}
	errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	if errno == 0 && ok {
		n.lfs.cache.Reap(key)
	}
	return errno
}

func (n *Node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	return n.LoopbackNode.Setxattr(ctx, attr, data, flags)
}

func (n *Node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return errno
	}
	defer n.lfs.gate.leave()
	return n.LoopbackNode.Removexattr(ctx, attr)
}

// backingFlags are the flags the backing file is opened with: always
// read-write (an fsync through a read-only handle must still persist), never
// O_DIRECT (the cache's reads and writes are not aligned; the kernel's FUSE
// side honours the caller's O_DIRECT), never O_APPEND (the kernel sends
// offsets), never O_TRUNC (truncation goes through the cache).
func backingFlags(flags uint32) uint32 {
	return flags&^uint32(syscall.O_ACCMODE|syscall.O_DIRECT|syscall.O_APPEND|syscall.O_TRUNC|fuse.FMODE_EXEC) |
		syscall.O_RDWR | syscall.O_CLOEXEC
}

// adoptHandle takes the descriptor out of a LoopbackFile the loopback opened
// for a new file and gives it to the cache.
func (n *Node) adoptHandle(ctx context.Context, ch *fs.Inode, fh fs.FileHandle, flags uint32) (*handle, syscall.Errno) {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return nil, syscall.EIO
	}
	fd, _ := lf.PassthroughFd()
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	lf.Release(ctx)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	f := n.lfs.cache.Adopt(ch.StableAttr().Ino, os.NewFile(uintptr(nfd), ""))
	f.SetTag(ch)
	h := n.lfs.newHandle(f, flags)
	if flags&syscall.O_TRUNC != 0 {
		if err := f.Truncate(0); err != nil {
			h.Release(ctx)
			return nil, fs.ToErrno(err)
		}
	}
	return h, 0
}

func (n *Node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return nil, nil, 0, errno
	}
	defer n.lfs.gate.leave()
	ch, fh, _, errno := n.LoopbackNode.Create(ctx, name, backingFlags(flags), mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	n.inheritGroup(name, out)
	h, errno := n.adoptHandle(ctx, ch, fh, flags)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	n.lfs.overlayEntry(ch, &out.Attr)
	return ch, h, n.lfs.openFlags(), 0
}

func (n *Node) Tmpfile(ctx context.Context, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.lfs.enter(ctx.Done()); errno != 0 {
		return nil, nil, 0, errno
	}
	defer n.lfs.gate.leave()
	ch, fh, _, errno := n.LoopbackNode.Tmpfile(ctx, backingFlags(flags), mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	h, errno := n.adoptHandle(ctx, ch, fh, flags)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, h, n.lfs.openFlags(), 0
}
