package main

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestClassifyOnlyAnUnansweredCommitIsInDoubt(t *testing.T) {
	broken := fmt.Errorf("wrapped: %w", mysql.ErrInvalidConn)
	cases := []struct {
		phase Phase
		err   error
		want  State
	}{
		{PhaseCommit, nil, Acknowledged},
		{PhaseBegin, driver.ErrBadConn, Failed},
		{PhaseBegin, broken, Failed},
		{PhaseInsert, &mysql.MySQLError{Number: 1146, Message: "Table 'ledger.ledger' doesn't exist"}, Failed},
		{PhaseInsert, io.ErrUnexpectedEOF, Failed},
		// Not a byte of the COMMIT was written: the server never saw it.
		{PhaseCommit, driver.ErrBadConn, Failed},
		{PhaseCommit, broken, InDoubt},
		{PhaseCommit, io.ErrUnexpectedEOF, InDoubt},
		{PhaseCommit, &mysql.MySQLError{Number: 1053, Message: "Server shutdown in progress"}, InDoubt},
	}
	for _, c := range cases {
		if got := Classify(c.phase, c.err); got != c.want {
			t.Errorf("Classify(%s, %v) = %s, want %s", c.phase, c.err, got, c.want)
		}
	}
	if !IsServerError(fmt.Errorf("commit: %w", &mysql.MySQLError{Number: 1053})) || IsServerError(broken) {
		t.Error("IsServerError must tell a server's error packet from a broken connection")
	}
}

func TestPayloadNamesItsRowAndIsDeterministic(t *testing.T) {
	p := Payload("cycle-1", 3, 42)
	if !strings.HasPrefix(p, "cycle-1:3:42:") || len(p) != len("cycle-1:3:42:")+32 {
		t.Fatalf("payload %q", p)
	}
	if p != Payload("cycle-1", 3, 42) || p == Payload("cycle-1", 3, 43) || p == Payload("cycle-1", 4, 42) {
		t.Error("the payload must depend on run, writer and seq only")
	}
	if PayloadCRC(p) != crc32.ChecksumIEEE([]byte(p)) || PayloadCRC("123456789") != 0xCBF43926 {
		t.Error("PayloadCRC must be CRC-32/IEEE (check value 0xCBF43926), as zlib.crc32 and MySQL's CRC32()")
	}
}

func TestBackoffDoublesFrom50msToACapOf1s(t *testing.T) {
	var got []time.Duration
	for attempt := 0; attempt <= 8; attempt++ {
		got = append(got, Backoff(attempt, 50*time.Millisecond, time.Second))
	}
	want := []time.Duration{0, 50, 100, 200, 400, 800, 1000, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("Backoff = %v, want %v ms", got, want)
		}
	}
	if Backoff(1000, 50*time.Millisecond, time.Second) != time.Second {
		t.Error("a long outage must stay at the cap")
	}
}

func TestIdentitiesGiveOneServerOneNameAndARestartANewOne(t *testing.T) {
	ids := NewIdentities(2)
	first := ids.Name("mysql-7d9f-abcde", 1_764_000_000)
	if first != "mysql-7d9f-abcde@1764000000" {
		t.Fatalf("identity %q", first)
	}
	// Another connection to the same server, its start read a second later.
	if got := ids.Name("mysql-7d9f-abcde", 1_764_000_001); got != first {
		t.Errorf("same server named %q and %q", first, got)
	}
	// The container restarted after a crash: same host, later start.
	if got := ids.Name("mysql-7d9f-abcde", 1_764_000_095); got == first {
		t.Error("a restarted server must get a new name")
	}
	// The replacement pod's server.
	if got := ids.Name("mysql-7d9f-fghij", 1_764_000_001); got != "mysql-7d9f-fghij@1764000001" {
		t.Errorf("identity %q", got)
	}
}

func TestRecordsAreOneJSONLineEach(t *testing.T) {
	var buf bytes.Buffer
	out := newOutput(&buf)
	out.line(Commit{Writer: 1, Seq: 7, State: InDoubt, SendMs: 1000, DoneMs: 3001, CRC: 99, Server: "h@1", Err: "commit: invalid connection"})
	out.line(Commit{Writer: 1, Seq: 8, State: Acknowledged, SendMs: 3100, DoneMs: 3105, CRC: 100})
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || lines[1] != `{"w":1,"seq":8,"state":"ack","t_send":3100,"t_done":3105,"crc":100}` {
		t.Fatalf("lines %q", lines)
	}
	var back Commit
	if err := json.Unmarshal([]byte(lines[0]), &back); err != nil || back.State != InDoubt || back.Err == "" {
		t.Errorf("line %q: %v", lines[0], err)
	}
}

func TestOptionsTakeTheEnvironmentAndNeverAPasswordFlag(t *testing.T) {
	env := map[string]string{"LEDGER_HOST": "mysql.ns.svc.cluster.local", "LEDGER_RATE": "40", "LEDGER_PASSWORD": "s3cret"}
	o, err := parseOptions([]string{"-connections", "2", "-run", "cycle-1"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o.host != "mysql.ns.svc.cluster.local" || o.ratePerS != 40 || o.connections != 2 || o.password != "s3cret" || o.run != "cycle-1" {
		t.Errorf("options %+v", *o)
	}
	if _, err := parseOptions([]string{"-password", "x"}, func(string) string { return "" }); err == nil {
		t.Error("a -password flag would put the password in the pod spec's argv")
	}
	if _, err := parseOptions([]string{"-run", "a b"}, func(string) string { return "" }); err == nil {
		t.Error("a run id with a space must be refused")
	}
}
