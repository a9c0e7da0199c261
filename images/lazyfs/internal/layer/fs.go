// Package layer is the FUSE side of lazyfs: a loopback of a backing
// directory (go-fuse's LoopbackNode) whose file data goes through the cache
// package, plus the faults (cut, torn, thaw, checkpoint) that act on it.
package layer

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"storage-conformance.local/lazyfs/internal/cache"
)

// Mode is how the layer answers a sync.
type Mode string

const (
	// Honest: fsync and fdatasync persist before they return.
	Honest Mode = "honest"
	// Lying: they return at once; a background flusher persists later.
	Lying Mode = "lying"
)

// Options configure a layer.
type Options struct {
	Backing          string
	Mode             Mode
	LieFlushInterval time.Duration
	MaxDirty         int64 // bytes; 0: no limit
	Seed             uint64
	SyncBacking      bool // also fsync the backing file when persisting for a sync
	// KernelCache lets the kernel keep file pages in its page cache. Off
	// (the default), files are opened FOPEN_DIRECT_IO: the layer is the only
	// cache, and a write held by a freeze holds no page lock that a stat or
	// a cut's invalidation would then wait for.
	KernelCache bool
	Debug       bool
}

// FS is one layer: its cache, its freeze gate and its counters.
type FS struct {
	opts  Options
	cache *cache.Cache
	gate  *gate
	root  *fs.LoopbackRoot

	ctlMu   sync.Mutex // one fault command at a time
	seeds   *rand.Rand // seeds for torn cuts given none (under ctlMu)
	lastCut atomic.Pointer[CutReport]
	armed   atomic.Pointer[trigger] // a cut waiting for a matching write
	prevWB  int64                   // written-back bytes at the previous cut (under ctlMu)

	stopFlusher chan struct{}
	flusherDone chan struct{}

	writes, bytesWritten, syncWrites    atomic.Int64
	fsyncs, fdatasyncs, fsyncdirs       atomic.Int64
	cuts, torns, thaws, checkpoints     atomic.Int64
	lieFlushes, lieFlushedBytes         atomic.Int64
	copyRanges, interrupted, syncErrors atomic.Int64
	handles                             atomic.Int64
}

// New builds the layer over opts.Backing and returns its root node.
func New(opts Options) (*FS, fs.InodeEmbedder, error) {
	if opts.Mode == "" {
		opts.Mode = Honest
	}
	if opts.Mode != Honest && opts.Mode != Lying {
		return nil, nil, fmt.Errorf("mode %q: want honest or lying", opts.Mode)
	}
	if opts.LieFlushInterval <= 0 {
		opts.LieFlushInterval = 5 * time.Second
	}
	var st syscall.Stat_t
	if err := syscall.Stat(opts.Backing, &st); err != nil {
		return nil, nil, fmt.Errorf("backing directory %s: %w", opts.Backing, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil, nil, fmt.Errorf("backing %s is not a directory", opts.Backing)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	l := &FS{
		opts:  opts,
		cache: cache.New(opts.MaxDirty),
		gate:  newGate(),
		root:  &fs.LoopbackRoot{Path: opts.Backing, Dev: uint64(st.Dev)},
		seeds: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	rootNode := &Node{LoopbackNode: &fs.LoopbackNode{RootData: l.root}, lfs: l}
	l.root.RootNode = rootNode
	if opts.Mode == Lying {
		l.stopFlusher = make(chan struct{})
		l.flusherDone = make(chan struct{})
		go l.flusher()
	}
	return l, rootNode, nil
}

// MountOptions are the FUSE options lazyfs mounts with: other users (mysqld)
// may use it, the kernel checks permissions, and there is no kernel
// writeback cache (FUSE only gets one when asked), so every write reaches
// the layer in order before write(2) returns.
func MountOptions(debug bool) *fs.Options {
	// Shared mmap of a direct-I/O file needs CAP_DIRECT_IO_ALLOW_MMAP
	// (Linux 6.6+; go-fuse asks only for what the kernel offers).
	sec := time.Second
	return &fs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther:        true,
			Options:           []string{"default_permissions"},
			FsName:            "lazyfs",
			Name:              "lazyfs",
			DirectMountStrict: true,
			MaxWrite:          1 << 20,
			// Never let the kernel bypass the layer.
			DisabledCapabilities: fuse.CAP_PASSTHROUGH | fuse.CAP_WRITEBACK_CACHE,
			ExtraCapabilities:    fuse.CAP_DIRECT_IO_ALLOW_MMAP,
			Debug:                debug,
		},
		EntryTimeout:    &sec,
		AttrTimeout:     &sec,
		NegativeTimeout: &sec,
	}
}

// Mount mounts the layer at mountpoint. The caller unmounts the server and
// then calls Close.
func Mount(mountpoint string, opts Options) (*FS, *fuse.Server, error) {
	l, root, err := New(opts)
	if err != nil {
		return nil, nil, err
	}
	server, err := fs.Mount(mountpoint, root, MountOptions(opts.Debug))
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	return l, server, nil
}

// Close stops the flusher and drops every unsynced byte, as a cut would;
// operations waiting at the freeze and any later ones fail with EIO. Call
// it when the mount is going.
func (l *FS) Close() cache.Report {
	if l.stopFlusher != nil {
		close(l.stopFlusher)
		<-l.flusherDone
		l.stopFlusher = nil
	}
	l.ctlMu.Lock()
	defer l.ctlMu.Unlock()
	l.gate.freeze()
	r := l.cache.DropAll()
	l.gate.close()
	return r
}

// openFlags are the FOPEN flags of every file the layer opens.
func (l *FS) openFlags() uint32 {
	if l.opts.KernelCache {
		return 0
	}
	return fuse.FOPEN_DIRECT_IO
}

// Mode is the layer's mode.
func (l *FS) Mode() Mode { return l.opts.Mode }

// enter passes the freeze gate for an operation of ctx.
func (l *FS) enter(done <-chan struct{}) syscall.Errno {
	if l.gate.enter(done) {
		return 0
	}
	if frozen, _, _ := l.gate.state(); frozen && !isClosed(done) {
		return syscall.EIO // closed
	}
	l.interrupted.Add(1)
	return syscall.EINTR
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
