package control

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	s, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(func(line string) (any, error) {
		if line == "stats" {
			return map[string]int{"writes": 3}, nil
		}
		return nil, errors.New("unknown command " + line)
	})
	defer s.Close()

	got, err := Call(sock, "stats")
	if err != nil || got != `{"writes":3}` {
		t.Fatalf("stats: %q %v", got, err)
	}
	got, err = Call(sock, "nope")
	if err == nil || !strings.Contains(got, `"error":"unknown command nope"`) {
		t.Fatalf("unknown: %q %v", got, err)
	}
	if _, err := Call(filepath.Join(t.TempDir(), "absent.sock"), "stats"); err == nil {
		t.Fatal("call to an absent socket succeeded")
	}
}
