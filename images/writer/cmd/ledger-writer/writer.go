package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

const (
	backoffFirst = 50 * time.Millisecond
	backoffMax   = time.Second
	// Two connections to one server may compute its start a second apart.
	identityToleranceS = 2
)

const createTable = `CREATE TABLE IF NOT EXISTS %s.ledger (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run VARCHAR(64) NOT NULL,
  writer INT NOT NULL,
  seq BIGINT NOT NULL,
  payload VARCHAR(255) NOT NULL,
  payload_crc INT UNSIGNED NOT NULL,
  server_identity VARCHAR(255) NOT NULL,
  committed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  -- Not unique: a duplicated commit must show as two rows, not be refused.
  KEY run_writer_seq (run, writer, seq)
) ENGINE=InnoDB`

// The identity's hostname is the server's at commit time; its start time was
// read when the connection opened (a connection never changes servers).
const insertRow = `INSERT INTO ledger (run, writer, seq, payload, payload_crc, server_identity) VALUES (?, ?, ?, ?, ?, CONCAT(@@hostname, ?))`

// output writes whole JSON lines; each Write goes straight to the file
// descriptor, so a line is out of the process before the call returns.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

func newOutput(w io.Writer) *output { return &output{w: w} }

func (o *output) line(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own structs are written
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.w.Write(append(b, '\n')); err != nil {
		// Without its record a commit's outcome is unknown: stop rather than write on.
		panic(fmt.Sprintf("writing the ledger record: %v", err))
	}
}

func nowMs() int64 { return time.Now().UnixMilli() }

type counters struct{ ack, fail, indoubt atomic.Int64 }

func (c *counters) add(s State) {
	switch s {
	case Acknowledged:
		c.ack.Add(1)
	case Failed:
		c.fail.Add(1)
	case InDoubt:
		c.indoubt.Add(1)
	}
}

func (c *counters) event(name string) Event {
	ack, fail, indoubt := c.ack.Load(), c.fail.Load(), c.indoubt.Load()
	return Event{Event: name, TMs: nowMs(), Ack: &ack, Fail: &fail, InDoubt: &indoubt}
}

type writer struct {
	o      *options
	out    *output
	db     *sql.DB
	counts *counters
	idsMu  sync.Mutex
	ids    *Identities
}

func run(ctx context.Context, o *options, out *output) error {
	// The driver logs broken connections on stderr, which a pod's log merges
	// with stdout; every error is in the commit's own line already.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", fmt.Sprintf("%s:%d", o.host, o.port)
	cfg.User, cfg.Passwd, cfg.DBName = o.user, o.password, o.database
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = o.ioTimeout, o.ioTimeout, o.ioTimeout
	cfg.InterpolateParams = true // one round trip per statement, no server-side prepares
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	// No pool: a connection that failed is closed and a fresh one dialled.
	db.SetMaxIdleConns(0)
	adminCfg := cfg.Clone()
	adminCfg.DBName = "" // the database may not exist yet
	adminConnector, err := mysql.NewConnector(adminCfg)
	if err != nil {
		return err
	}
	admin := sql.OpenDB(adminConnector)
	defer admin.Close()
	admin.SetMaxIdleConns(0)

	w := &writer{o: o, out: out, db: db, counts: &counters{}, ids: NewIdentities(identityToleranceS)}
	conns, rate := o.connections, o.ratePerS
	out.line(Event{Event: "start", TMs: nowMs(), Run: o.run, Conns: &conns, RatePerS: &rate})
	err = w.ensureTable(ctx, admin)
	admin.Close()
	if err != nil {
		out.line(w.counts.event("stop"))
		return err
	}
	var wg sync.WaitGroup
	for i := range o.connections {
		wg.Add(1)
		go func() { defer wg.Done(); w.loop(ctx, i) }()
	}
	if o.summaryEvery > 0 {
		go func() {
			tick := time.NewTicker(o.summaryEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					out.line(w.counts.event("summary"))
				}
			}
		}()
	}
	wg.Wait()
	out.line(w.counts.event("stop"))
	return nil
}

// ensureTable creates the database and the table when absent, retrying with
// backoff until the server answers. A user who may not create databases can
// still write to one that exists: only the table's creation must succeed.
func (w *writer) ensureTable(ctx context.Context, admin *sql.DB) error {
	for attempt := 1; ; attempt++ {
		opCtx, cancel := context.WithTimeout(context.Background(), 3*w.o.ioTimeout)
		_, _ = admin.ExecContext(opCtx, "CREATE DATABASE IF NOT EXISTS `"+w.o.database+"`")
		_, err := admin.ExecContext(opCtx, fmt.Sprintf(createTable, "`"+w.o.database+"`"))
		cancel()
		if err == nil {
			return nil
		}
		delay := Backoff(attempt, backoffFirst, backoffMax)
		w.out.line(Event{Event: "reconnect", TMs: nowMs(), Attempt: attempt, DelayMs: delay.Milliseconds(), Err: "creating the ledger table: " + err.Error()})
		if !sleep(ctx, delay) {
			return fmt.Errorf("the ledger table was not created before the writer was stopped: %v", err)
		}
	}
}

// connect opens a connection and names the server it reached.
func (w *writer) connect(ctx context.Context) (*sql.Conn, string, error) {
	opCtx, cancel := context.WithTimeout(ctx, 3*w.o.ioTimeout)
	defer cancel()
	conn, err := w.db.Conn(opCtx)
	if err != nil {
		return nil, "", err
	}
	var host string
	var nowS, uptimeS int64
	var name, value string
	err = conn.QueryRowContext(opCtx, "SELECT @@hostname, UNIX_TIMESTAMP()").Scan(&host, &nowS)
	if err == nil {
		// SHOW GLOBAL STATUS works on MySQL and MariaDB alike; performance_schema
		// is off by default on MariaDB.
		err = conn.QueryRowContext(opCtx, "SHOW GLOBAL STATUS LIKE 'Uptime'").Scan(&name, &value)
	}
	if err == nil {
		uptimeS, err = strconv.ParseInt(value, 10, 64)
	}
	if err != nil {
		conn.Close()
		return nil, "", err
	}
	w.idsMu.Lock()
	defer w.idsMu.Unlock()
	return conn, w.ids.Name(host, nowS-uptimeS), nil
}

// loop is one connection's writer: commit, record, pace, and reconnect when
// anything failed. It stops between commits, never inside one.
func (w *writer) loop(ctx context.Context, writerID int) {
	var conn *sql.Conn
	var server string
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var interval time.Duration
	if w.o.ratePerS > 0 {
		interval = time.Duration(float64(time.Second) * float64(w.o.connections) / float64(w.o.ratePerS))
	}
	// Writers start spread over one interval, not all at once.
	next := time.Now().Add(interval * time.Duration(writerID) / time.Duration(w.o.connections))
	var seq int64
	attempt := 0
	for ctx.Err() == nil {
		if conn == nil {
			c, srv, err := w.connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				attempt++
				delay := Backoff(attempt, backoffFirst, backoffMax)
				w.out.line(Event{Event: "reconnect", TMs: nowMs(), Writer: &writerID, Attempt: attempt, DelayMs: delay.Milliseconds(), Err: err.Error()})
				sleep(ctx, delay)
				continue
			}
			conn, server, attempt = c, srv, 0
			w.out.line(Event{Event: "connected", TMs: nowMs(), Writer: &writerID, Server: server})
		}
		if interval > 0 {
			now := time.Now()
			if now.Sub(next) > interval {
				next = now // after an outage, resume the steady rate rather than burst to catch up
			}
			if !sleep(ctx, time.Until(next)) {
				return
			}
			next = next.Add(interval)
		}
		seq++
		record := w.commit(conn, writerID, seq, server)
		w.out.line(record)
		w.counts.add(record.State)
		if record.State != Acknowledged {
			conn.Close()
			conn = nil
		}
	}
}

// commit runs BEGIN; INSERT; COMMIT on conn. The statements run without the
// stop context: a stop must not cut a commit in half. The driver's deadlines
// bound each one.
func (w *writer) commit(conn *sql.Conn, writerID int, seq int64, server string) Commit {
	payload := Payload(w.o.run, writerID, seq)
	record := Commit{Writer: writerID, Seq: seq, CRC: PayloadCRC(payload), Server: server, SendMs: nowMs()}
	bg := context.Background()
	phase := PhaseBegin
	_, err := conn.ExecContext(bg, "BEGIN")
	if err == nil {
		phase = PhaseInsert
		_, err = conn.ExecContext(bg, insertRow, w.o.run, writerID, seq, payload, record.CRC, startSuffix(server))
	}
	if err == nil {
		phase = PhaseCommit
		_, err = conn.ExecContext(bg, "COMMIT")
	}
	record.DoneMs = nowMs()
	record.State = Classify(phase, err)
	if err != nil {
		record.Err = fmt.Sprintf("%s: %v", phase, err)
	}
	return record
}

// startSuffix is the "@start" part of an identity host@start.
func startSuffix(identity string) string { return identity[strings.LastIndex(identity, "@"):] }

// sleep waits d or until ctx is done; false when ctx ended it.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
