package layer

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"

	"storage-conformance.local/lazyfs/internal/cache"
)

// FileLoss is what a cut did to one file.
type FileLoss struct {
	Path         string `json:"path"`
	Ino          uint64 `json:"ino"`
	DroppedBytes int64  `json:"dropped_bytes"`
	KeptBytes    int64  `json:"kept_bytes,omitempty"`
}

// CutReport is the reply to cut and torn.
type CutReport struct {
	Command string  `json:"command"`
	Seed    *uint64 `json:"seed,omitempty"`
	At      string  `json:"at"`
	Frozen  bool    `json:"frozen"`
	cache.Report
	// WrittenBackBytes is what the max-dirty write-back put on the backing
	// files since the mount, WrittenBackSinceLastCut since the previous cut:
	// unsynced data that reached the disk before this cut anyway.
	WrittenBackBytes        int64      `json:"written_back_bytes"`
	WrittenBackSinceLastCut int64      `json:"written_back_bytes_since_last_cut"`
	Invalidated             int        `json:"invalidated"`
	InvalidatePending       int        `json:"invalidate_pending"`
	Files                   []FileLoss `json:"files,omitempty"`
	FilesOmitted            int        `json:"files_omitted,omitempty"`
	Millis                  float64    `json:"ms"`
}

// maxReportedFiles caps the per-file list of a cut reply (largest losses first).
const maxReportedFiles = 32

// invalidateWait bounds how long a cut waits for the kernel to drop its
// cached pages of the files it cut. A write the freeze holds keeps its
// pages locked, so invalidating that file finishes only after a thaw; the
// reply counts such files as pending.
const invalidateWait = 2 * time.Second

// Cut freezes the layer (in-flight operations finish first; later ones wait
// for a thaw), drops every unsynced byte and invalidates the kernel's cache
// of the files that had any.
func (l *FS) Cut() *CutReport { return l.cut(nil) }

// Torn is Cut, but first persists each dirty block with probability 1/2
// drawn from seed (nil: the next seed of --seed's sequence).
func (l *FS) Torn(seed *uint64) *CutReport {
	if seed == nil {
		l.ctlMu.Lock()
		s := l.seeds.Uint64()
		l.ctlMu.Unlock()
		seed = &s
	}
	return l.cut(seed)
}

func (l *FS) cut(seed *uint64) *CutReport {
	l.ctlMu.Lock()
	defer l.ctlMu.Unlock()
	start := time.Now()
	l.gate.freeze()
	rep := &CutReport{Command: "cut", Seed: seed, Frozen: true, At: start.UTC().Format(time.RFC3339Nano)}
	if seed != nil {
		rep.Command = "torn"
		rep.Report = l.cache.Torn(rand.New(rand.NewPCG(*seed, 0)))
		l.torns.Add(1)
	} else {
		rep.Report = l.cache.DropAll()
	}
	l.cuts.Add(1)
	wb := l.cache.Counters().WrittenBackBytes
	rep.WrittenBackBytes, rep.WrittenBackSinceLastCut = wb, wb-l.prevWB
	l.prevWB = wb
	rep.Invalidated, rep.InvalidatePending = invalidate(rep.Report.Files)
	rep.Files, rep.FilesOmitted = l.losses(rep.Report.Files)
	rep.Millis = float64(time.Since(start).Microseconds()) / 1000
	l.lastCut.Store(rep)
	return rep
}

// invalidate asks the kernel to drop its cached pages and attributes of each
// file, waiting at most invalidateWait for them all.
func invalidate(files []cache.FileReport) (done, pending int) {
	ch := make(chan struct{}, len(files))
	n := 0
	for _, fr := range files {
		in, ok := fr.Tag.(*fs.Inode)
		if !ok {
			continue
		}
		n++
		go func() {
			in.NotifyContent(0, 0)
			ch <- struct{}{}
		}()
	}
	timeout := time.After(invalidateWait)
	for done < n {
		select {
		case <-ch:
			done++
		case <-timeout:
			return done, n - done
		}
	}
	return done, 0
}

func (l *FS) losses(files []cache.FileReport) ([]FileLoss, int) {
	root := l.root.RootNode.EmbeddedInode()
	var out []FileLoss
	for _, fr := range files {
		if fr.DroppedBytes == 0 && fr.KeptBytes == 0 {
			continue
		}
		fl := FileLoss{Ino: fr.Key, DroppedBytes: fr.DroppedBytes, KeptBytes: fr.KeptBytes}
		if in, ok := fr.Tag.(*fs.Inode); ok {
			fl.Path = in.Path(root)
		}
		out = append(out, fl)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DroppedBytes > out[j].DroppedBytes })
	if len(out) > maxReportedFiles {
		return out[:maxReportedFiles], len(out) - maxReportedFiles
	}
	return out, 0
}

// ThawReport is the reply to thaw.
type ThawReport struct {
	Command   string `json:"command"`
	WasFrozen bool   `json:"was_frozen"`
	Released  int    `json:"released"`
}

// Thaw ends a freeze: the operations waiting at it go on.
func (l *FS) Thaw() ThawReport {
	l.ctlMu.Lock()
	defer l.ctlMu.Unlock()
	frozen, waiting, _ := l.gate.state()
	l.gate.thaw()
	l.thaws.Add(1)
	return ThawReport{Command: "thaw", WasFrozen: frozen, Released: waiting}
}

// CheckpointReport is the reply to checkpoint.
type CheckpointReport struct {
	Command         string `json:"command"`
	PersistedBytes  int64  `json:"persisted_bytes"`
	PersistedBlocks int64  `json:"persisted_blocks"`
	Files           int    `json:"files"`
	Errors          int64  `json:"errors"`
}

// Checkpoint persists every dirty byte without a cut.
func (l *FS) Checkpoint() CheckpointReport {
	l.ctlMu.Lock()
	defer l.ctlMu.Unlock()
	r := l.cache.PersistAll()
	l.checkpoints.Add(1)
	return CheckpointReport{Command: "checkpoint", PersistedBytes: r.KeptBytes, PersistedBlocks: r.KeptBlocks, Files: len(r.Files), Errors: r.Errors}
}

// Stats is the reply to stats.
type Stats struct {
	Mode        Mode  `json:"mode"`
	Frozen      bool  `json:"frozen"`
	Blocked     int   `json:"blocked_ops"`
	Inflight    int   `json:"inflight_ops"`
	OpenHandles int64 `json:"open_handles"`
	cache.Counters
	Writes           int64      `json:"writes"`
	BytesWritten     int64      `json:"bytes_written"`
	SyncWrites       int64      `json:"sync_writes"`
	Fsyncs           int64      `json:"fsyncs"`
	Fdatasyncs       int64      `json:"fdatasyncs"`
	Fsyncdirs        int64      `json:"fsyncdirs"`
	CopyFileRanges   int64      `json:"copy_file_ranges"`
	SyncErrors       int64      `json:"sync_errors"`
	Interrupted      int64      `json:"interrupted_ops"`
	Cuts             int64      `json:"cuts"`
	TornCuts         int64      `json:"torn_cuts"`
	Thaws            int64      `json:"thaws"`
	Checkpoints      int64      `json:"checkpoints"`
	LieFlushes       int64      `json:"lie_flushes"`
	LieFlushedBytes  int64      `json:"lie_flushed_bytes"`
	LieFlushInterval string     `json:"lie_flush_interval,omitempty"`
	LastCut          *CutReport `json:"last_cut"`
}

// Stats reads the counters.
func (l *FS) Stats() Stats {
	frozen, waiting, inflight := l.gate.state()
	s := Stats{
		Mode: l.opts.Mode, Frozen: frozen, Blocked: waiting, Inflight: inflight,
		OpenHandles:     l.handles.Load(),
		Counters:        l.cache.Counters(),
		Writes:          l.writes.Load(),
		BytesWritten:    l.bytesWritten.Load(),
		SyncWrites:      l.syncWrites.Load(),
		Fsyncs:          l.fsyncs.Load(),
		Fdatasyncs:      l.fdatasyncs.Load(),
		Fsyncdirs:       l.fsyncdirs.Load(),
		CopyFileRanges:  l.copyRanges.Load(),
		SyncErrors:      l.syncErrors.Load(),
		Interrupted:     l.interrupted.Load(),
		Cuts:            l.cuts.Load(),
		TornCuts:        l.torns.Load(),
		Thaws:           l.thaws.Load(),
		Checkpoints:     l.checkpoints.Load(),
		LieFlushes:      l.lieFlushes.Load(),
		LieFlushedBytes: l.lieFlushedBytes.Load(),
		LastCut:         l.lastCut.Load(),
	}
	if l.opts.Mode == Lying {
		s.LieFlushInterval = l.opts.LieFlushInterval.String()
	}
	return s
}

// Command runs one control line: cut | torn [seed] | thaw | stats |
// checkpoint.
func (l *FS) Command(line string) (any, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil, fmt.Errorf("empty command: want cut, torn [seed], thaw, stats or checkpoint")
	}
	args := f[1:]
	noArgs := func() error {
		if len(args) > 0 {
			return fmt.Errorf("%s takes no arguments", f[0])
		}
		return nil
	}
	switch f[0] {
	case "cut":
		if err := noArgs(); err != nil {
			return nil, err
		}
		return l.Cut(), nil
	case "torn":
		if len(args) > 1 {
			return nil, fmt.Errorf("torn takes at most one argument, a seed")
		}
		if len(args) == 1 {
			s, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("torn seed %q: want an unsigned integer", args[0])
			}
			return l.Torn(&s), nil
		}
		return l.Torn(nil), nil
	case "cut-after-write", "torn-after-write":
		return l.armedCommand(f[0], args)
	case "thaw":
		if err := noArgs(); err != nil {
			return nil, err
		}
		return l.Thaw(), nil
	case "stats":
		if err := noArgs(); err != nil {
			return nil, err
		}
		return l.Stats(), nil
	case "checkpoint":
		if err := noArgs(); err != nil {
			return nil, err
		}
		return l.Checkpoint(), nil
	}
	return nil, fmt.Errorf("unknown command %q: want cut, torn [seed], cut-after-write MS REGEX, torn-after-write MS REGEX [seed], thaw, stats or checkpoint", f[0])
}
