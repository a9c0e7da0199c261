package cache

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func sysStat(fi os.FileInfo) (*syscall.Stat_t, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return st, ok
}

// futimens is utimensat(fd, NULL, ts, 0): times of an open file, with
// UTIME_OMIT honoured.
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// tagBox holds any value, read and written atomically.
type tagBox struct{ p atomic.Pointer[any] }

func (t *tagBox) set(v any) { t.p.Store(&v) }

func (t *tagBox) get() any {
	if p := t.p.Load(); p != nil {
		return *p
	}
	return nil
}
