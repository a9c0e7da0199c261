package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"storage-conformance.local/lazyfs/internal/control"
)

// runCtl sends one command to a running lazyfs and prints its reply.
func runCtl(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lazyfs ctl", flag.ContinueOnError)
	fl.SetOutput(stderr)
	sock := fl.String("control", "", "the control socket of the mount")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *sock == "" || fl.NArg() == 0 {
		fmt.Fprint(stderr, "lazyfs ctl: need --control SOCKET and a command (cut, torn [seed], thaw, stats, checkpoint)\n")
		return 2
	}
	reply, err := control.Call(*sock, strings.Join(fl.Args(), " "))
	if err != nil {
		fmt.Fprintf(stderr, "lazyfs ctl: %s: %v\n", fl.Arg(0), err)
		return 2
	}
	fmt.Fprintln(stdout, reply)
	return 0
}
