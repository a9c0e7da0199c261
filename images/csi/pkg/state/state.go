// Package state keeps everything the driver knows about its volumes and
// snapshots in one JSON file, replaced atomically (write a temporary file,
// fsync it, rename it over the old one, fsync the directory), so that a driver
// killed at any instant (a node's power cut) restarts with either the old or
// the new state, never a torn one.
//
// What the file does not hold is what a restart of the node loses anyway:
// loop devices and mounts. Those are found again in the kernel (sysfs,
// /proc/self/mountinfo) when they are needed, and re-created by NodeStage.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Version is the format of the file; a driver refuses a file from a newer one.
const Version = 1

// Volume is one volume: a backing file holding a filesystem.
type Volume struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`          // the CO's name (CreateVolume's idempotency key)
	PVC            string    `json:"pvc,omitempty"` // namespace/name, from --extra-create-metadata
	CapacityBytes  int64     `json:"capacityBytes"`
	FsType         string    `json:"fsType"`
	BackingFile    string    `json:"backingFile"`
	Node           string    `json:"node"`                     // the node whose disk holds it
	SourceSnapshot string    `json:"sourceSnapshot,omitempty"` // restored from
	SourceVolume   string    `json:"sourceVolume,omitempty"`   // cloned from
	Created        time.Time `json:"created"`
	// StagingPath is where NodeStageVolume last mounted it. After a node
	// restart the mount is gone while this stays: check the kernel, not this.
	StagingPath string `json:"stagingPath,omitempty"`
	// Published maps each target path to its access mode (a CSI
	// VolumeCapability_AccessMode_Mode name) and read-only flag.
	Published map[string]Publication `json:"published,omitempty"`
}

// Publication is one NodePublishVolume target.
type Publication struct {
	AccessMode string `json:"accessMode"`
	ReadOnly   bool   `json:"readOnly"`
}

// Snapshot is a copy of a volume's backing file.
type Snapshot struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	VolumeSnapshot string    `json:"volumeSnapshot,omitempty"` // namespace/name, from --extra-create-metadata
	SourceVolumeID string    `json:"sourceVolumeId"`
	SizeBytes      int64     `json:"sizeBytes"`
	FsType         string    `json:"fsType"`
	File           string    `json:"file"`
	Node           string    `json:"node"`
	Created        time.Time `json:"created"`
	// Method says how the copy was made: "reflink" or "copy", and whether the
	// source filesystem was frozen ("+frozen").
	Method string `json:"method"`
}

// State is the whole file.
type State struct {
	Version   int                  `json:"version"`
	Volumes   map[string]*Volume   `json:"volumes"`
	Snapshots map[string]*Snapshot `json:"snapshots"`
}

// Store reads and writes the state file at Path.
type Store struct {
	Path string
}

// New returns an empty state.
func New() *State {
	return &State{Version: Version, Volumes: map[string]*Volume{}, Snapshots: map[string]*Snapshot{}}
}

// Load reads the file; a missing file is an empty state.
func (s *Store) Load() (*State, error) {
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, err
	}
	st := New()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("state file %s is not valid JSON: %w", s.Path, err)
	}
	if st.Version > Version {
		return nil, fmt.Errorf("state file %s has format %d, this driver knows %d", s.Path, st.Version, Version)
	}
	if st.Volumes == nil {
		st.Volumes = map[string]*Volume{}
	}
	if st.Snapshots == nil {
		st.Snapshots = map[string]*Snapshot{}
	}
	st.Version = Version
	return st, nil
}

// Save replaces the file atomically and durably.
func (s *Store) Save(st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.Path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// VolumeByName finds a volume by the CO's name.
func (st *State) VolumeByName(name string) *Volume {
	for _, v := range st.Volumes {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// SnapshotByName finds a snapshot by the CO's name.
func (st *State) SnapshotByName(name string) *Snapshot {
	for _, s := range st.Snapshots {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SortedVolumes lists the volumes by ID: the order ListVolumes pages through.
func (st *State) SortedVolumes() []*Volume {
	out := make([]*Volume, 0, len(st.Volumes))
	for _, v := range st.Volumes {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SortedSnapshots lists the snapshots by ID: the order ListSnapshots pages through.
func (st *State) SortedSnapshots() []*Snapshot {
	out := make([]*Snapshot, 0, len(st.Snapshots))
	for _, s := range st.Snapshots {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
