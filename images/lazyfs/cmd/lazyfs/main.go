// Command lazyfs mounts a directory through a FUSE layer that holds written
// data in its own memory until it is fsynced, and drops it on command: a
// power cut that loses exactly what was never synced. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  lazyfs mount --backing DIR --mountpoint DIR --control SOCKET
               [--mode honest|lying] [--lie-flush-interval 5s] [--seed N]
               [--max-dirty 1GiB] [--fsync-backing] [--kernel-cache] [--debug]
  lazyfs ctl --control SOCKET COMMAND [ARGS]
      COMMAND: cut | torn [SEED] | thaw | stats | checkpoint
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "mount":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return runMount(ctx, args[1:], stdout, stderr)
	case "ctl":
		return runCtl(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "lazyfs: unknown command %q\n%s", args[0], usage)
	return 2
}
