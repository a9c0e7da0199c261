// ledger-writer commits small transactions to MySQL at a steady rate through
// whatever happens to the server, and records how each commit ended, one JSON
// line per commit on stdout, before the next commit on that connection is sent.
// The suite's verifier (src/conformance/ledger.ts) compares those lines with
// the rows in the table after recovery.
//
//	ledger-writer -host mysql -user root -database ledger -run cycle-1
//
// The password comes from $LEDGER_PASSWORD or -password-file, never a flag.
// Every flag can also be set by the environment variable LEDGER_<FLAG>
// (upper case, '-' as '_'), e.g. LEDGER_HOST.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

type options struct {
	host, user, database, passwordFile, run string
	port, connections, ratePerS             int
	duration, ioTimeout, summaryEvery       time.Duration
	password                                string
}

func parseOptions(args []string, getenv func(string) string) (*options, error) {
	fs := flag.NewFlagSet("ledger-writer", flag.ContinueOnError)
	o := &options{}
	defaultRun := fmt.Sprintf("run-%d", time.Now().Unix())
	fs.StringVar(&o.host, "host", "mysql", "server host: in a cluster, the Service's DNS name")
	fs.IntVar(&o.port, "port", 3306, "server port")
	fs.StringVar(&o.user, "user", "root", "user")
	fs.StringVar(&o.database, "database", "ledger", "database of the ledger table (both created when absent)")
	fs.StringVar(&o.passwordFile, "password-file", "", "file holding the password (else $LEDGER_PASSWORD)")
	fs.StringVar(&o.run, "run", defaultRun, "run id written into every row (letters, digits, '.', '_', '-'; at most 64)")
	fs.IntVar(&o.connections, "connections", 4, "concurrent connections, each its own writer")
	fs.IntVar(&o.ratePerS, "rate", 100, "commits per second in total, spread over the connections (0: as fast as possible)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until SIGTERM or SIGINT)")
	fs.DurationVar(&o.ioTimeout, "io-timeout", 2*time.Second, "deadline of every connect, read and write")
	fs.DurationVar(&o.summaryEvery, "summary-every", time.Second, "interval of the summary lines (0: none)")
	// Environment first, flags override.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv("LEDGER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("LEDGER_%s: %v", strings.ToUpper(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if !regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`).MatchString(o.run) {
		return nil, fmt.Errorf("-run %q: use letters, digits, '.', '_' and '-', at most 64", o.run)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_$]{1,64}$`).MatchString(o.database) {
		return nil, fmt.Errorf("-database %q: use letters, digits, '_' and '$', at most 64", o.database)
	}
	if o.connections < 1 || o.ratePerS < 0 {
		return nil, errors.New("-connections must be at least 1 and -rate not negative")
	}
	o.password = getenv("LEDGER_PASSWORD")
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("reading the password file: %v", err)
		}
		o.password = strings.TrimRight(string(b), "\r\n")
	}
	return o, nil
}

func main() {
	// `ledger-writer stop`, run in the writer's container (kubectl exec), ends
	// the writer as SIGTERM does: it finishes the commit in flight, writes its
	// stop line and exits, so its log is complete and readable afterwards. The
	// image has no shell to send the signal with.
	if len(os.Args) == 2 && os.Args[1] == "stop" {
		if err := syscall.Kill(1, syscall.SIGTERM); err != nil {
			fmt.Fprintln(os.Stderr, "ledger-writer stop:", err)
			os.Exit(1)
		}
		return
	}
	o, err := parseOptions(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger-writer:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if err := run(ctx, o, newOutput(os.Stdout)); err != nil {
		fmt.Fprintln(os.Stderr, "ledger-writer:", err)
		os.Exit(1)
	}
}
