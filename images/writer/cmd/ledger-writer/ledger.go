package main

// The pure parts of the writer: what a row carries, how a commit's outcome is
// classified, how long to wait before reconnecting, and how a server is named.

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/go-sql-driver/mysql"
)

// State is how one commit ended, as a client can know it.
type State string

const (
	// Acknowledged: COMMIT returned OK. The row must be in the table forever after.
	Acknowledged State = "ack"
	// Failed: the error came before COMMIT was sent, so the transaction was
	// never committed. The row must not be in the table.
	Failed State = "fail"
	// InDoubt: COMMIT was sent and no OK came back (the connection broke, a
	// deadline passed, or the server answered with an error). The row may or
	// may not be there; both are allowed.
	InDoubt State = "indoubt"
)

// Phase is the statement of a commit that was running when it ended.
type Phase string

const (
	PhaseBegin  Phase = "begin"
	PhaseInsert Phase = "insert"
	PhaseCommit Phase = "commit"
)

// Classify turns the error of a commit's statement into its state. Only an
// error on COMMIT can leave the outcome open, and even then not when the
// driver reports driver.ErrBadConn: go-sql-driver returns it only when not a
// byte of the request was written, so the server never saw the COMMIT.
// A server's error answer to COMMIT stays in doubt: which errors roll back
// and which come after the transaction was made durable differs between
// servers, and an in-doubt row is allowed either way.
func Classify(phase Phase, err error) State {
	switch {
	case err == nil && phase == PhaseCommit:
		return Acknowledged
	case phase != PhaseCommit:
		return Failed
	case errors.Is(err, driver.ErrBadConn):
		return Failed
	default:
		return InDoubt
	}
}

// IsServerError is true when the server answered with a MySQL error packet
// (as opposed to the connection breaking or a deadline passing).
func IsServerError(err error) bool {
	var mysqlErr *mysql.MySQLError
	return errors.As(err, &mysqlErr)
}

// Payload is the row's payload for (run, writer, seq): it names its own row,
// so a payload found under another writer or sequence number is corrupted,
// and it is deterministic, so the verifier could recompute it.
func Payload(run string, writer int, seq int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s:%d:%d", run, writer, seq))
	return fmt.Sprintf("%s:%d:%d:%s", run, writer, seq, hex.EncodeToString(sum[:16]))
}

// PayloadCRC is the CRC-32 (IEEE, as zlib and MySQL's CRC32()) of the payload.
func PayloadCRC(payload string) uint32 { return crc32.ChecksumIEEE([]byte(payload)) }

// Backoff is the wait before reconnect attempt n (1-based): doubling from
// first, capped at max.
func Backoff(attempt int, first, max time.Duration) time.Duration {
	if attempt < 1 {
		return 0
	}
	delay := first
	for i := 1; i < attempt && delay < max; i++ {
		delay *= 2
	}
	return min(delay, max)
}

// Identities names servers as hostname@start (start in Unix seconds). The
// start is computed as the server's clock minus its Uptime, both whole
// seconds read in two statements, so two connections to one server may see
// starts a second or two apart; Identities gives them one name, the first
// seen. A restarted server on the same host (a container restarted after a
// crash) has started later by at least its previous uptime and gets a new name.
type Identities struct {
	toleranceS int64
	starts     map[string][]int64
}

func NewIdentities(toleranceS int64) *Identities {
	return &Identities{toleranceS: toleranceS, starts: map[string][]int64{}}
}

// Name returns the identity of a server on host that started at startS.
// Not safe for concurrent use.
func (ids *Identities) Name(host string, startS int64) string {
	for _, known := range ids.starts[host] {
		if d := known - startS; d <= ids.toleranceS && d >= -ids.toleranceS {
			return fmt.Sprintf("%s@%d", host, known)
		}
	}
	ids.starts[host] = append(ids.starts[host], startS)
	return fmt.Sprintf("%s@%d", host, startS)
}

// Commit is one line of the writer's output per commit: the record kept
// outside the database, written before the next commit on its connection is sent.
type Commit struct {
	Writer int    `json:"w"`
	Seq    int64  `json:"seq"`
	State  State  `json:"state"`
	SendMs int64  `json:"t_send"`
	DoneMs int64  `json:"t_done"`
	CRC    uint32 `json:"crc"`
	Server string `json:"srv,omitempty"`
	Err    string `json:"err,omitempty"`
}

// Event is every other line: start, connected, reconnect, summary, stop.
type Event struct {
	Event    string `json:"event"`
	TMs      int64  `json:"t"`
	Writer   *int   `json:"w,omitempty"`
	Run      string `json:"run,omitempty"`
	Server   string `json:"srv,omitempty"`
	Attempt  int    `json:"attempt,omitempty"`
	DelayMs  int64  `json:"delay_ms,omitempty"`
	Err      string `json:"err,omitempty"`
	Ack      *int64 `json:"ack,omitempty"`
	Fail     *int64 `json:"fail,omitempty"`
	InDoubt  *int64 `json:"indoubt,omitempty"`
	Conns    *int   `json:"connections,omitempty"`
	RatePerS *int   `json:"rate,omitempty"`
}
