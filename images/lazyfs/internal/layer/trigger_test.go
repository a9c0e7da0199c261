package layer

import (
	"testing"
	"time"
)

// An armed cut ignores writes to other files, fires on the first matching
// write, and drops that write's data: no fsync after it can persist it.
func TestCutAfterWriteDropsTheWriteThatFiredIt(t *testing.T) {
	m := mount(t, Options{})
	other := writeFile(t, m.m("ibdata1"), []byte("page"), 0)
	defer other.Close()
	redo := writeFile(t, m.m("ib_redo7"), []byte("synced."), 0)
	defer redo.Close()
	if err := redo.Sync(); err != nil {
		t.Fatal(err)
	}
	replies := make(chan *ArmedReport, 1)
	go func() {
		r, err := m.CutAfterWrite(`ib_redo\d+$`, 5*time.Second, false, nil)
		if err != nil {
			t.Error(err)
		}
		replies <- r
	}()
	eventually(t, "the cut to be armed", func() bool { return m.armed.Load() != nil })
	if _, err := other.WriteAt([]byte("more"), 4); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-replies:
		t.Fatalf("a write to ibdata1 fired the cut armed for the redo log: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := redo.WriteAt([]byte("commit"), 7); err != nil {
		t.Fatal(err)
	}
	// The fsync that would make the commit durable waits at the shut gate.
	synced := make(chan error, 1)
	go func() { synced <- redo.Sync() }()
	r := <-replies
	if r.Trigger != "write" || r.TriggerPath != "ib_redo7" {
		t.Fatalf("trigger %q path %q, want write ib_redo7", r.Trigger, r.TriggerPath)
	}
	if r.DroppedBytes == 0 {
		t.Fatalf("the cut dropped nothing: %+v", r.CutReport)
	}
	select {
	case err := <-synced:
		t.Fatalf("an fsync after the firing write returned (%v) before the thaw", err)
	case <-time.After(50 * time.Millisecond):
	}
	m.Thaw()
	<-synced
	equal(t, "the redo log on the backing file", readFile(t, m.b("ib_redo7")), []byte("synced."))
	equal(t, "ibdata1 on the backing file", readFile(t, m.b("ibdata1")), []byte{})
}

// Without a matching write within the wait, the cut happens anyway and says so.
func TestCutAfterWriteTimesOut(t *testing.T) {
	m := mount(t, Options{})
	f := writeFile(t, m.m("data"), []byte("unsynced"), 0)
	defer f.Close()
	r, err := m.CutAfterWrite(`ib_redo`, 30*time.Millisecond, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Thaw()
	if r.Trigger != "timeout" || r.Command != "torn" || r.Seed == nil {
		t.Fatalf("got trigger %q command %q seed %v, want a torn cut on timeout", r.Trigger, r.Command, r.Seed)
	}
	if r.WaitedMs < 30 {
		t.Fatalf("waited %.1f ms, want at least the 30 ms asked", r.WaitedMs)
	}
	if _, err := m.Command("cut-after-write 0 x"); err == nil {
		t.Fatal("a wait of 0 ms was accepted")
	}
	if _, err := m.Command("cut-after-write 10 ("); err == nil {
		t.Fatal("a pattern that does not compile was accepted")
	}
}
