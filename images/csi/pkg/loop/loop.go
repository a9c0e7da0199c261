// Package loop attaches files to loop devices with the kernel's ioctls
// (LOOP_CTL_GET_FREE, LOOP_CONFIGURE, LOOP_SET_CAPACITY), without losetup.
//
// Devices are attached with LO_FLAGS_AUTOCLEAR: the kernel detaches one when
// its last opener goes, i.e. when the filesystem on it is unmounted (or its
// mount namespace dies with the node container). A driver that crashes, or a
// node that is killed, therefore leaks no loop device on the host, whose loop
// devices every container shares.
//
// Loop devices are global to the host but a container's /dev is not: a device
// the kernel creates after the container started has no node in its /dev.
// Attach then creates it with mknod(2), which the container's device cgroup
// must allow ("b 7:* rwm"); when it does not, the error names the Docker flags.
package loop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	loopMajor        = 7
	loopControlMinor = 237 // misc device 10:237
	miscMajor        = 10
)

// DevDir and SysBlock are where device nodes and the block devices' sysfs
// entries are; tests may point them elsewhere.
var (
	DevDir   = "/dev"
	SysBlock = "/sys/block"
)

// DockerHint is what a node container needs for loop devices.
const DockerHint = "the node container needs the loop devices: docker run --device /dev/loop-control " +
	"--device-cgroup-rule 'b 7:* rwm' --device-cgroup-rule 'c 10:237 rwm' (or --privileged)"

// Device is an attached loop device, held open: with LO_FLAGS_AUTOCLEAR it
// is detached as soon as the last opener closes it, so mount it before Close.
type Device struct {
	Path string
	file *os.File
}

// Close releases the driver's hold on the device.
func (d *Device) Close() error {
	if d.file == nil {
		return nil
	}
	err := d.file.Close()
	d.file = nil
	return err
}

// Attach binds backing to a free loop device (or returns the device already
// bound to it).
func Attach(backing string) (*Device, error) {
	abs, err := filepath.Abs(backing)
	if err != nil {
		return nil, err
	}
	if dev, err := Find(abs); err != nil {
		return nil, err
	} else if dev != "" {
		if err := ensureNode(dev); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("opening %s (already bound to %s): %w", dev, abs, err)
		}
		return &Device{Path: dev, file: f}, nil
	}
	back, err := os.OpenFile(abs, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer back.Close()
	control, err := openControl()
	if err != nil {
		return nil, err
	}
	defer control.Close()
	var lastErr error
	// Another process (a second driver, losetup on the host) may take the
	// free device between GET_FREE and CONFIGURE: EBUSY, ask again.
	for attempt := 0; attempt < 20; attempt++ {
		n, err := unix.IoctlRetInt(int(control.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("LOOP_CTL_GET_FREE on %s/loop-control: %w", DevDir, err)
		}
		dev := filepath.Join(DevDir, "loop"+strconv.Itoa(n))
		if err := ensureNode(dev); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w; %s", dev, err, DockerHint)
		}
		cfg := unix.LoopConfig{Fd: uint32(back.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], abs)
		err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
		if err == nil {
			return &Device{Path: dev, file: f}, nil
		}
		f.Close()
		lastErr = fmt.Errorf("LOOP_CONFIGURE %s with %s: %w", dev, abs, err)
		if !errors.Is(err, unix.EBUSY) {
			return nil, lastErr
		}
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	return nil, lastErr
}

// Find returns the loop device bound to backing ("" if none), from sysfs.
func Find(backing string) (string, error) {
	abs, err := filepath.Abs(backing)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(SysBlock)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(SysBlock, e.Name(), "loop", "backing_file"))
		if err != nil {
			continue // not bound
		}
		if strings.TrimSpace(string(b)) == abs {
			return filepath.Join(DevDir, e.Name()), nil
		}
	}
	return "", nil
}

// Refresh makes the loop device see its backing file's new size
// (LOOP_SET_CAPACITY, what `losetup -c` does).
func Refresh(dev string) error {
	if err := ensureNode(dev); err != nil {
		return err
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := unix.IoctlRetInt(int(f.Fd()), unix.LOOP_SET_CAPACITY); err != nil {
		return fmt.Errorf("LOOP_SET_CAPACITY on %s: %w", dev, err)
	}
	return nil
}

// Size is the device's size in bytes, from sysfs (512-byte sectors).
func Size(dev string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(SysBlock, filepath.Base(dev), "size"))
	if err != nil {
		return 0, err
	}
	sectors, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return sectors * 512, err
}

func openControl() (*os.File, error) {
	path := filepath.Join(DevDir, "loop-control")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := unix.Mknod(path, unix.S_IFCHR|0o600, int(unix.Mkdev(miscMajor, loopControlMinor))); err != nil {
			return nil, fmt.Errorf("%s is missing and mknod failed: %w; %s", path, err, DockerHint)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w; %s", path, err, DockerHint)
	}
	return f, nil
}

// ensureNode creates /dev/loopN when the kernel has the device but this
// mount namespace's /dev has no node for it (a container's /dev is a copy).
func ensureNode(dev string) error {
	if st, err := os.Stat(dev); err == nil {
		if st.Mode()&os.ModeDevice == 0 {
			return fmt.Errorf("%s exists but is not a device node", dev)
		}
		return nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dev), "loop"))
	if err != nil {
		return fmt.Errorf("%s is not a loop device name", dev)
	}
	err = unix.Mknod(dev, unix.S_IFBLK|0o660, int(unix.Mkdev(loopMajor, uint32(n))))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%s has no device node and mknod(b 7:%d) failed: %w; %s", dev, n, err, DockerHint)
	}
	return nil
}
