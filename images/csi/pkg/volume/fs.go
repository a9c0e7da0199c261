// Package volume does what the driver does to files, filesystems and
// mounts: create and grow backing files, make and grow ext4 on them, freeze a
// mounted filesystem, copy a backing file (reflink when the filesystem under
// the state directory can, a sparse copy otherwise), and mount.
package volume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The filesystems the driver makes. XFS is the default: its online grow
// (xfs_growfs) needs CAP_SYS_ADMIN, which a node container has, while ext4's
// (resize2fs on a mounted filesystem) needs CAP_SYS_RESOURCE, which Docker
// hosts that refuse privileged mode also drop (see README).
const (
	XFS  = "xfs"
	Ext4 = "ext4"
	// DefaultFsType is used when a request names no filesystem.
	DefaultFsType = XFS
)

// MinSize is the smallest filesystem of a type: mkfs.xfs refuses less than
// 300 MB; ext4 with a journal wants a few MiB.
func MinSize(fstype string) int64 {
	if fstype == XFS {
		return 300 << 20
	}
	return 16 << 20
}

// Supported says whether the driver makes fstype.
func Supported(fstype string) bool { return fstype == XFS || fstype == Ext4 }

// CreateBackingFile makes a file of size bytes whose blocks are reserved
// (fallocate): the volume's capacity is then really there even when the
// disk under the state directory fills up later. Where fallocate is not
// supported the file stays sparse and preallocated is false.
func CreateBackingFile(path string, size int64) (preallocated bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return false, err
	}
	preallocated, err = reserve(f, 0, size)
	if err != nil {
		os.Remove(path)
		return false, err
	}
	return preallocated, f.Sync()
}

// GrowBackingFile extends path to size (never shrinks it) and reserves all
// its blocks (fallocate over [0, size) allocates only what is not yet: the
// holes of a sparse copy, the new tail of a grown file).
func GrowBackingFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < size {
		if err := f.Truncate(size); err != nil {
			return err
		}
	} else {
		size = st.Size()
	}
	if _, err := reserve(f, 0, size); err != nil {
		return err
	}
	return f.Sync()
}

// FileSize is a file's apparent size.
func FileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// reserve allocates [off, off+n) with fallocate mode 0 (unwritten extents:
// reads return zeros, nothing is written). ENOSPC is reported as it is: the
// disk under the state directory cannot hold the volume.
func reserve(f *os.File, off, n int64) (bool, error) {
	if n <= 0 {
		return true, nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, off, n)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
		return false, nil
	default:
		return false, fmt.Errorf("reserving %d bytes for %s: %w", n, f.Name(), err)
	}
}

// Mkfs makes a filesystem in a backing file (mkfs writes files directly, no
// loop device needed).
//
// xfs: -K, do not discard (the blocks are reserved, keep them).
// ext4: -m 0, no blocks reserved for root (a database running as its own
// user gets the whole capacity); lazy inode table and journal init, safe on
// a fresh file (it reads as zeros) and milliseconds instead of seconds.
func Mkfs(ctx context.Context, fstype, path string) error {
	switch fstype {
	case XFS:
		return run(ctx, "mkfs.xfs", "-q", "-f", "-K", path)
	case Ext4:
		return run(ctx, "mkfs.ext4", "-F", "-q", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", path)
	}
	return fmt.Errorf("unsupported filesystem %q", fstype)
}

// MountData is what the driver adds to every mount of fstype. xfs: nouuid,
// since a restored or cloned volume has its source's UUID and XFS refuses to
// mount a second filesystem with a UUID already mounted.
func MountData(fstype string) []string {
	if fstype == XFS {
		return []string{"nouuid"}
	}
	return nil
}

// GrowMounted grows the filesystem on dev, mounted at mountpoint, to the
// device's size; when it is already that size this changes nothing.
func GrowMounted(ctx context.Context, fstype, dev, mountpoint string) error {
	var err error
	switch fstype {
	case XFS:
		err = run(ctx, "xfs_growfs", "-d", mountpoint)
	case Ext4:
		err = run(ctx, "resize2fs", dev)
		if err != nil && strings.Contains(err.Error(), "Permission denied") {
			err = fmt.Errorf("%w (online ext4 resizing needs CAP_SYS_RESOURCE, which this process lacks; xfs volumes grow with CAP_SYS_ADMIN alone)", err)
		}
	default:
		err = fmt.Errorf("unsupported filesystem %q", fstype)
	}
	return err
}

// GrowOffline grows an unmounted filesystem in a file where that is possible
// (ext4: e2fsck -f then resize2fs); xfs grows only mounted, at NodeStage.
func GrowOffline(ctx context.Context, fstype, path string) error {
	if fstype != Ext4 {
		return nil
	}
	if err := fsck(ctx, "-f", "-p", path); err != nil {
		return err
	}
	return run(ctx, "resize2fs", path)
}

// Repair runs the automatic repair of fstype on dev after a failed mount:
// e2fsck -p for ext4. xfs replays its log at mount and has no automatic
// repair (xfs_repair refuses a dirty log): nil, and the mount error stands.
func Repair(ctx context.Context, fstype, dev string) (bool, error) {
	if fstype != Ext4 {
		return false, nil
	}
	return true, fsck(ctx, "-p", dev)
}

// fsck runs e2fsck; exit code 1 (errors corrected) is a success.
func fsck(ctx context.Context, args ...string) error {
	err := run(ctx, "e2fsck", args...)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return nil
	}
	return err
}

func run(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// FIFREEZE and FITHAW: _IOWR('X', 119, int) and _IOWR('X', 120, int).
const (
	fiFreeze = 0xC0045877
	fiThaw   = 0xC0045878
)

// Freeze flushes and freezes the filesystem mounted at mountpoint: every
// writer blocks until Thaw. The returned function thaws it.
func Freeze(mountpoint string) (thaw func() error, err error) {
	f, err := os.Open(mountpoint)
	if err != nil {
		return nil, err
	}
	if _, err := unix.IoctlRetInt(int(f.Fd()), fiFreeze); err != nil {
		f.Close()
		return nil, fmt.Errorf("FIFREEZE %s: %w", mountpoint, err)
	}
	return func() error {
		defer f.Close()
		if _, err := unix.IoctlRetInt(int(f.Fd()), fiThaw); err != nil {
			return fmt.Errorf("FITHAW %s: %w", mountpoint, err)
		}
		return nil
	}, nil
}

// Thaw thaws a filesystem a crashed driver may have left frozen; EINVAL (not frozen) is fine.
func Thaw(mountpoint string) error {
	f, err := os.Open(mountpoint)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := unix.IoctlRetInt(int(f.Fd()), fiThaw); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}

// CopyFile copies src to a new file dst: a reflink (FICLONE, xfs and btrfs:
// instant, shares blocks until either side writes) where the filesystem can,
// else a sparse copy of the data ranges only (SEEK_DATA/SEEK_HOLE with
// copy_file_range). It returns "reflink" or "copy".
func CopyFile(src, dst string) (method string, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		out.Close()
		if !ok {
			os.Remove(dst)
		}
	}()
	if err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd())); err == nil {
		method = "reflink"
	} else {
		if err := sparseCopy(in, out); err != nil {
			return "", err
		}
		method = "copy"
	}
	if err := out.Sync(); err != nil {
		return "", err
	}
	ok = true
	return method, nil
}

func sparseCopy(in, out *os.File) error {
	st, err := in.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if err := out.Truncate(size); err != nil {
		return err
	}
	inFd := int(in.Fd())
	off := int64(0)
	for off < size {
		data, err := unix.Seek(inFd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole remains
		}
		if err != nil {
			return fmt.Errorf("SEEK_DATA in %s: %w", in.Name(), err)
		}
		hole, err := unix.Seek(inFd, data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("SEEK_HOLE in %s: %w", in.Name(), err)
		}
		if err := copyRange(in, out, data, hole-data); err != nil {
			return err
		}
		off = hole
	}
	return nil
}

// copyRange copies n bytes at off, with copy_file_range (in-kernel) or,
// where the kernel refuses it (across filesystems on old kernels), read/write.
func copyRange(in, out *os.File, off, n int64) error {
	inOff, outOff := off, off
	for n > 0 {
		c, err := unix.CopyFileRange(int(in.Fd()), &inOff, int(out.Fd()), &outOff, int(min(n, 1<<30)), 0)
		if err != nil {
			if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
				_, err := io.Copy(io.NewOffsetWriter(out, outOff), io.NewSectionReader(in, inOff, n))
				return err
			}
			return fmt.Errorf("copy_file_range %s: %w", in.Name(), err)
		}
		if c == 0 {
			return fmt.Errorf("copy_file_range %s: short copy at %d", in.Name(), inOff)
		}
		n -= int64(c)
	}
	return nil
}

// CanReflink says whether dir's filesystem takes FICLONE (tested with two
// small files), for the log and the README's claim.
func CanReflink(dir string) bool {
	a, err := os.CreateTemp(dir, ".reflink-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(a.Name())
	defer a.Close()
	if _, err := a.Write(make([]byte, 4096)); err != nil {
		return false
	}
	b, err := os.CreateTemp(dir, ".reflink-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(b.Name())
	defer b.Close()
	return unix.IoctlFileClone(int(b.Fd()), int(a.Fd())) == nil
}
