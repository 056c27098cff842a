// Command yuncan is the Yuncan server: the API, the pages and the
// background workers in one binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "yuncan:", err)
		os.Exit(1)
	}
}

// usage is printed for -h and unknown subcommands.
const usage = `yuncan: the Yuncan tracking server

Usage:
  yuncan serve [flags]                      run the API, pages and jobs
  yuncan migrate [flags]                    apply database migrations and exit
  yuncan version                            print the version
  yuncan admin create-user --phone P --role admin|moderator|user [flags]
  yuncan admin rotate-keys [flags]          add a data key and re-encrypt sensitive fields
  yuncan bench alerts [flags]               time alert targeting and fan-out on a population; prints JSON (bench alerts -h)

Flags (each has a YUNCAN_* environment twin, e.g. --data and YUNCAN_DATA):
`

// run is the whole program; tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "yuncan", version())
		return nil
	case "admin":
		return cmdAdmin(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		fl := newFlags("serve", getenv, stdout)
		addAlertFlags(fl.fs, getenv)
		fl.fs.PrintDefaults()
		return nil
	default:
		return fmt.Errorf("unknown command %q; run yuncan help", cmd)
	}
}
