package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Path: filepath.Join(dir, "sub", "state.json")}
	st := New()
	st.Volumes["vol-1@n"] = &Volume{ID: "vol-1@n", Name: "pvc-1", CapacityBytes: 1 << 30, FsType: "xfs", BackingFile: "/x/vol-1.img", Node: "n",
		Created: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), StagingPath: "/staging",
		Published: map[string]Publication{"/pods/a": {AccessMode: "SINGLE_NODE_SINGLE_WRITER"}}}
	st.Snapshots["snap-1@n"] = &Snapshot{ID: "snap-1@n", Name: "s", SourceVolumeID: "vol-1@n", SizeBytes: 1 << 30, File: "/x/snap-1.img", Method: "copy+frozen"}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	v := got.Volumes["vol-1@n"]
	if v == nil || v.Name != "pvc-1" || v.CapacityBytes != 1<<30 || v.Published["/pods/a"].AccessMode != "SINGLE_NODE_SINGLE_WRITER" || !v.Created.Equal(st.Volumes["vol-1@n"].Created) {
		t.Fatalf("volume after a round trip: %+v", v)
	}
	if sn := got.Snapshots["snap-1@n"]; sn == nil || sn.Method != "copy+frozen" {
		t.Fatalf("snapshot after a round trip: %+v", sn)
	}
	if got.VolumeByName("pvc-1") != v || got.VolumeByName("nope") != nil || got.SnapshotByName("s") == nil {
		t.Fatal("lookups by name")
	}
	// No temporary file is left beside the state.
	entries, _ := os.ReadDir(filepath.Dir(s.Path))
	if len(entries) != 1 {
		t.Fatalf("files beside the state: %v", entries)
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	st, err := (&Store{Path: filepath.Join(t.TempDir(), "state.json")}).Load()
	if err != nil || len(st.Volumes) != 0 || len(st.Snapshots) != 0 || st.Version != Version {
		t.Fatalf("%+v %v", st, err)
	}
}

// A crash between writing the temporary file and the rename leaves the old
// state whole, and the stray temporary file changes nothing.
func TestCrashBeforeRenameKeepsTheOldState(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Path: filepath.Join(dir, "state.json")}
	st := New()
	st.Volumes["a"] = &Volume{ID: "a"}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".state.json.123"), []byte(`{"version":1,"volumes":{"b":`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || got.Volumes["a"] == nil || len(got.Volumes) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestLoadRefusesGarbageAndNewerFormats(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Path: filepath.Join(dir, "state.json")}
	os.WriteFile(s.Path, []byte("{"), 0o600)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("torn file: %v", err)
	}
	os.WriteFile(s.Path, []byte(`{"version": 99}`), 0o600)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "format 99") {
		t.Fatalf("newer format: %v", err)
	}
	os.WriteFile(s.Path, []byte(`{"version": 1}`), 0o600)
	if st, err := s.Load(); err != nil || st.Volumes == nil || st.Snapshots == nil {
		t.Fatalf("empty maps: %+v %v", st, err)
	}
}

func TestSortedListsArePagedInIDOrder(t *testing.T) {
	st := New()
	for _, id := range []string{"c", "a", "b"} {
		st.Volumes[id] = &Volume{ID: id}
		st.Snapshots[id] = &Snapshot{ID: id}
	}
	var v, s []string
	for _, x := range st.SortedVolumes() {
		v = append(v, x.ID)
	}
	for _, x := range st.SortedSnapshots() {
		s = append(s, x.ID)
	}
	if strings.Join(v, "") != "abc" || strings.Join(s, "") != "abc" {
		t.Fatal(v, s)
	}
}
