package volume

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MountInfo is one line of /proc/self/mountinfo.
type MountInfo struct {
	Root       string // the path inside the filesystem that is mounted (a bind mount's source)
	MountPoint string
	FsType     string
	Source     string
	Options    string // per-mount options (ro, rw, ...)
}

// MountInfoPath is read by Mounts; tests may point it elsewhere.
var MountInfoPath = "/proc/self/mountinfo"

// Mounts reads the mount table of this mount namespace.
func Mounts() ([]MountInfo, error) {
	f, err := os.Open(MountInfoPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountInfo(f)
}

// ParseMountInfo parses the format of proc(5)'s mountinfo.
func ParseMountInfo(r io.Reader) ([]MountInfo, error) {
	var out []MountInfo
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if sep < 0 || len(fields) < sep+3 {
			return nil, fmt.Errorf("malformed mountinfo line %q", sc.Text())
		}
		out = append(out, MountInfo{
			Root:       unescape(fields[3]),
			MountPoint: unescape(fields[4]),
			Options:    fields[5],
			FsType:     fields[sep+1],
			Source:     unescape(fields[sep+2]),
		})
	}
	return out, sc.Err()
}

// unescape decodes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// MountAt returns the topmost mount at path, if any.
func MountAt(path string) (*MountInfo, error) {
	mounts, err := Mounts()
	if err != nil {
		return nil, err
	}
	var found *MountInfo
	for i := range mounts {
		if mounts[i].MountPoint == path {
			found = &mounts[i] // later lines are mounted on top
		}
	}
	return found, nil
}

// ReadOnly says whether a mount's per-mount options make it read-only.
func (m *MountInfo) ReadOnly() bool {
	for _, o := range strings.Split(m.Options, ",") {
		if o == "ro" {
			return true
		}
	}
	return false
}

// mountFlags are the mount(8) options that are flags of mount(2); the rest
// are filesystem data.
var mountFlags = map[string]struct {
	set   bool
	flags uintptr
}{
	"ro":          {true, unix.MS_RDONLY},
	"rw":          {false, unix.MS_RDONLY},
	"noatime":     {true, unix.MS_NOATIME},
	"atime":       {false, unix.MS_NOATIME},
	"nodiratime":  {true, unix.MS_NODIRATIME},
	"relatime":    {true, unix.MS_RELATIME},
	"strictatime": {true, unix.MS_STRICTATIME},
	"lazytime":    {true, unix.MS_LAZYTIME},
	"sync":        {true, unix.MS_SYNCHRONOUS},
	"dirsync":     {true, unix.MS_DIRSYNC},
	"nosuid":      {true, unix.MS_NOSUID},
	"nodev":       {true, unix.MS_NODEV},
	"noexec":      {true, unix.MS_NOEXEC},
	"suid":        {false, unix.MS_NOSUID},
	"dev":         {false, unix.MS_NODEV},
	"exec":        {false, unix.MS_NOEXEC},
	"defaults":    {false, 0},
}

// ParseMountOptions splits mount(8)-style options into mount(2) flags and data.
func ParseMountOptions(opts []string) (flags uintptr, data string) {
	var rest []string
	for _, opt := range opts {
		for _, o := range strings.Split(opt, ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			if f, ok := mountFlags[o]; ok {
				if f.set {
					flags |= f.flags
				} else {
					flags &^= f.flags
				}
				continue
			}
			rest = append(rest, o)
		}
	}
	return flags, strings.Join(rest, ",")
}

// Mount mounts a filesystem of fstype from source at target.
func Mount(source, target, fstype string, opts []string) error {
	flags, data := ParseMountOptions(opts)
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount -t %s %s %s (flags %#x, data %q): %w", fstype, source, target, flags, data, err)
	}
	return nil
}

// BindMount mounts source at target too, read-only if asked (a read-only bind
// needs a second, remounting call).
func BindMount(source, target string, readOnly bool, opts []string) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount --bind %s %s: %w", source, target, err)
	}
	flags, _ := ParseMountOptions(opts)
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	if flags != 0 {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
			_ = unix.Unmount(target, 0)
			return fmt.Errorf("remounting the bind mount at %s with flags %#x: %w", target, flags, err)
		}
	}
	return nil
}

// Unmount unmounts every mount stacked at target; not mounted is fine.
func Unmount(target string) error {
	for i := 0; i < 8; i++ {
		m, err := MountAt(target)
		if err != nil {
			return err
		}
		if m == nil {
			return nil
		}
		if err := unix.Unmount(target, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("umount %s: %w", target, err)
		}
	}
	return fmt.Errorf("umount %s: still mounted after 8 unmounts", target)
}
