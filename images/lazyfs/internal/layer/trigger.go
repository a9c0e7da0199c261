package layer

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// A cut at a random moment almost never meets a database with unsynced data:
// InnoDB syncs its log within microseconds of writing it. An armed cut waits
// for the moment that matters: the next write to a file whose path matches
// (the redo log, the binary log), and shuts the gate before that write
// returns, so the write's data is in the cache, unsynced, when the cut drops
// it: a commit in flight at the instant power fails.

// trigger is an armed cut waiting for a matching write.
type trigger struct {
	re    *regexp.Regexp
	once  sync.Once
	fired chan struct{}
	path  string // the write that fired it (set before fired is closed)
}

// ArmedReport is the reply to cut-after-write and torn-after-write: the cut's
// report and what set it off.
type ArmedReport struct {
	*CutReport
	// Trigger is "write" when a matching write fired the cut, "timeout" when
	// none came within the wait and the cut happened anyway.
	Trigger     string  `json:"trigger"`
	TriggerPath string  `json:"trigger_path,omitempty"`
	WaitedMs    float64 `json:"waited_ms"`
}

// fireOnWrite is called by a write while it holds the gate: when an armed
// trigger matches the file, the gate is shut at once (no later operation is
// admitted: this write is the last one to finish) and the waiting cut goes on.
func (l *FS) fireOnWrite(n *Node) {
	t := l.armed.Load()
	if t == nil {
		return
	}
	path := n.Path(l.root.RootNode.EmbeddedInode())
	if !t.re.MatchString(path) {
		return
	}
	t.once.Do(func() {
		l.gate.shut()
		t.path = path
		close(t.fired)
	})
}

// CutAfterWrite arms a cut (a torn one with a seed) for the next write to a
// file matching pattern, waits for it at most within, and cuts.
func (l *FS) CutAfterWrite(pattern string, within time.Duration, torn bool, seed *uint64) (*ArmedReport, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v", pattern, err)
	}
	t := &trigger{re: re, fired: make(chan struct{})}
	if !l.armed.CompareAndSwap(nil, t) {
		return nil, fmt.Errorf("a cut is armed already")
	}
	start := time.Now()
	reply := &ArmedReport{Trigger: "write"}
	select {
	case <-t.fired:
		reply.TriggerPath = t.path
	case <-time.After(within):
		reply.Trigger = "timeout"
	}
	l.armed.Store(nil)
	reply.WaitedMs = float64(time.Since(start).Microseconds()) / 1000
	if torn {
		if seed == nil {
			l.ctlMu.Lock()
			s := l.seeds.Uint64()
			l.ctlMu.Unlock()
			seed = &s
		}
		reply.CutReport = l.cut(seed)
	} else {
		reply.CutReport = l.cut(nil)
	}
	return reply, nil
}

// armedCommand parses `cut-after-write MS REGEX` and `torn-after-write MS REGEX [SEED]`.
func (l *FS) armedCommand(name string, args []string) (any, error) {
	torn := name == "torn-after-write"
	if len(args) < 2 || len(args) > 3 || (!torn && len(args) == 3) {
		return nil, fmt.Errorf("usage: %s WITHIN_MS REGEX%s", name, map[bool]string{true: " [SEED]", false: ""}[torn])
	}
	ms, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil || ms == 0 {
		return nil, fmt.Errorf("%s: wait %q: want milliseconds above 0", name, args[0])
	}
	var seed *uint64
	if len(args) == 3 {
		s, err := strconv.ParseUint(args[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s seed %q: want an unsigned integer", name, args[2])
		}
		seed = &s
	}
	return l.CutAfterWrite(args[1], time.Duration(ms)*time.Millisecond, torn, seed)
}
