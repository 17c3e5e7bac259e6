// Command server is skbscope's native binary: it serves the web app and
// runs the command-line tools.
//
//	server serve [-addr 127.0.0.1:8080] [-static static] [-tap NAME [-token-file F] [-allow-origin O] [-isolate] [-rate N]]
//	server trace -scenario NAME [-format json|ftrace|pwru|oops|oops-arm]
//	server pcap  -scenario NAME [-o FILE]
//	server static [-o dist] [-static static]
//	server explain [-static static]
//	server client -bridge URL -scenario FILE [-token-file F] [-trace FILE] [-pcap FILE]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// commands maps each subcommand to its function.
var commands = map[string]func(args []string, stdout io.Writer) error{
	"serve":   serveCmd,
	"trace":   traceCmd,
	"pcap":    pcapCmd,
	"static":  staticCmd,
	"explain": explainCmd,
	"client":  clientCmd,
}

const usage = `usage: server COMMAND [flags]

commands:
  serve   serve the web app (default http://127.0.0.1:8080/)
  trace   print a lesson's trace: -scenario NAME -format json|ftrace|pwru|oops|oops-arm
  pcap    write a lesson's frames: -scenario NAME -o FILE.pcap
  static  write the site as static files: -o DIR (default dist)
  explain write the explanations the page fetches under -static DIR (default static)
  client  run a scenario live through a bridge: -bridge URL -scenario FILE

run "server COMMAND -h" for a command's flags
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch err := cmd(args[1:], stdout); {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
		return 1
	}
	return 0
}
