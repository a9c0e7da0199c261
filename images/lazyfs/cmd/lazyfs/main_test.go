package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "1GiB": 1 << 30, "512MiB": 512 << 20, "64k": 64 << 10, "2G": 2 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1.5G", "1TiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}

func TestCtlWithoutASocketFails(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"ctl", "--control", filepath.Join(t.TempDir(), "none.sock"), "stats"}, &out, &errb)
	if code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "lazyfs ctl: stats:") {
		t.Fatalf("code %d stdout %q stderr %q", code, out.String(), errb.String())
	}
}

func TestMountRefusesAMountpointInsideTheBacking(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"mount", "--backing", dir, "--mountpoint", filepath.Join(dir, "m"), "--control", filepath.Join(dir, "c")}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "inside the backing directory") {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
}

// TestMountCtlAndStop runs the mount command in process: it announces the
// mount, answers ctl, and on cancellation drops the unsynced data, reports
// it and unmounts.
func TestMountCtlAndStop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE directly needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	dir := t.TempDir()
	backing, mnt, sock := filepath.Join(dir, "b"), filepath.Join(dir, "m"), filepath.Join(dir, "ctl.sock")
	os.Mkdir(backing, 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- runMount(ctx, []string{"--backing", backing, "--mountpoint", mnt, "--control", sock, "--mode", "honest"}, pw, &errb)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() || lines.Text() != "lazyfs: mounted "+mnt+" over "+backing+" (mode honest)" {
		t.Fatalf("first line %q, stderr %q", lines.Text(), errb.String())
	}
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("unsynced"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, ctlErr bytes.Buffer
	if c := run([]string{"ctl", "--control", sock, "stats"}, &out, &ctlErr); c != 0 || !strings.Contains(out.String(), `"dirty_bytes":8`) {
		t.Fatalf("ctl stats: %d %q %q", c, out.String(), ctlErr.String())
	}
	out.Reset()
	if c := run([]string{"ctl", "--control", sock, "frobnicate"}, &out, &ctlErr); c != 2 || out.Len() != 0 {
		t.Fatalf("an unknown command: code %d stdout %q", c, out.String())
	}
	cancel()
	if !lines.Scan() || lines.Text() != "lazyfs: stopping: dropped 8 unsynced bytes (1 blocks in 1 files)" {
		t.Fatalf("stop line %q", lines.Text())
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d, stderr %q", c, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the mount did not stop")
	}
	var sfs syscall.Statfs_t
	if syscall.Statfs(mnt, &sfs) == nil && sfs.Type == fuseSuperMagic {
		t.Fatal("still mounted")
	}
	if b, _ := os.ReadFile(filepath.Join(backing, "f")); len(b) != 0 {
		t.Fatalf("the unsynced bytes reached the backing file at exit: %q", b)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("control socket left behind: %v", err)
	}
}
