package main

// The writer's log format as the suite reads it: this test writes a session of
// every kind of line through the writer's own output and structs into
// testdata/writer-log.golden.jsonl, and test/unit/ledger.test.ts parses that
// same file with parseWriterLog (src/ledger/analysis.ts). A change to a field
// here fails this test until the file is written again with -update, and then
// fails the TypeScript test until the parser reads the new format.

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "write testdata/writer-log.golden.jsonl again from the writer's structs")

const goldenLog = "testdata/writer-log.golden.jsonl"

// goldenSession is a writer's life in one log: start, two connections, an
// acknowledged, a failed and an in-doubt commit across a lost server, a
// reconnect to the new server, a summary and the stop.
func goldenSession() []any {
	one, two := 1, 2
	conns, rate := 2, 100
	ack, fail, indoubt := int64(3), int64(1), int64(1)
	return []any{
		Event{Event: "start", TMs: 1_764_000_000_000, Run: "golden-1", Conns: &conns, RatePerS: &rate},
		Event{Event: "connected", TMs: 1_764_000_000_010, Writer: &one, Server: "mysql-a@1763990000"},
		Event{Event: "connected", TMs: 1_764_000_000_011, Writer: &two, Server: "mysql-a@1763990000"},
		Commit{Writer: 1, Seq: 1, State: Acknowledged, SendMs: 1_764_000_000_020, DoneMs: 1_764_000_000_025, CRC: PayloadCRC(Payload("golden-1", 1, 1)), Server: "mysql-a@1763990000"},
		Commit{Writer: 2, Seq: 1, State: Acknowledged, SendMs: 1_764_000_000_040, DoneMs: 1_764_000_000_046, CRC: PayloadCRC(Payload("golden-1", 2, 1)), Server: "mysql-a@1763990000"},
		Commit{Writer: 1, Seq: 2, State: InDoubt, SendMs: 1_764_000_000_060, DoneMs: 1_764_000_003_061, CRC: PayloadCRC(Payload("golden-1", 1, 2)), Server: "mysql-a@1763990000", Err: "commit: invalid connection"},
		Commit{Writer: 2, Seq: 2, State: Failed, SendMs: 1_764_000_000_080, DoneMs: 1_764_000_000_081, CRC: PayloadCRC(Payload("golden-1", 2, 2)), Server: "mysql-a@1763990000", Err: "begin: driver: bad connection"},
		Event{Event: "reconnect", TMs: 1_764_000_000_100, Writer: &one, Attempt: 1, DelayMs: 50, Err: "dial tcp: connection refused"},
		Event{Event: "connected", TMs: 1_764_000_005_000, Writer: &one, Server: "mysql-b@1764000004"},
		Commit{Writer: 1, Seq: 3, State: Acknowledged, SendMs: 1_764_000_005_010, DoneMs: 1_764_000_005_016, CRC: PayloadCRC(Payload("golden-1", 1, 3)), Server: "mysql-b@1764000004"},
		Event{Event: "summary", TMs: 1_764_000_006_000, Ack: &ack, Fail: &fail, InDoubt: &indoubt},
		Event{Event: "stop", TMs: 1_764_000_006_500, Ack: &ack, Fail: &fail, InDoubt: &indoubt},
	}
}

func TestGoldenLogIsWhatTheWriterWrites(t *testing.T) {
	var buf bytes.Buffer
	out := newOutput(&buf)
	for _, line := range goldenSession() {
		out.line(line)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenLog), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenLog, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenLog)
	if err != nil {
		t.Fatalf("%v: write it with 'go test ./cmd/ledger-writer -run TestGoldenLog -update' (in images/writer)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("the writer's lines differ from %s (which test/unit/ledger.test.ts parses with the suite's parser):\n got:\n%s\nwant:\n%s\n"+
			"if the format changed on purpose: 'go test ./cmd/ledger-writer -run TestGoldenLog -update', then make parseWriterLog read it", goldenLog, buf.String(), want)
	}
}
