package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"skbscope/scenario"
	"skbscope/stack/trace"
)

// lessonTrace runs -scenario: an embedded lesson's name, or a path to a
// scenario file.
func lessonTrace(name string) (*trace.Trace, error) {
	f, err := loadScenario(name)
	if err != nil {
		return nil, err
	}
	return scenario.Simulate(f)
}

// traceCmd is `server trace -scenario NAME -format json|ftrace|pwru|oops|oops-arm`.
func traceCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	name := fs.String("scenario", "", "lesson name (e.g. udp-sendto) or scenario file")
	format := fs.String("format", "json", "json (one event a line), ftrace (function_graph), pwru, or the console text of an oops: oops (x86-64) or oops-arm (seed 000's ARM backtrace)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := lessonTrace(*name)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		return t.WriteJSON(stdout)
	case "ftrace":
		return t.WriteFtrace(stdout)
	case "pwru":
		return t.WritePwru(stdout)
	case "oops":
		return t.WriteOopses(stdout, false)
	case "oops-arm":
		return t.WriteOopses(stdout, true)
	}
	return fmt.Errorf("unknown -format %q: json, ftrace, pwru, oops or oops-arm", *format)
}

// pcapCmd is `server pcap -scenario NAME -o FILE`: every frame that
// crossed a wire.
func pcapCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pcap", flag.ContinueOnError)
	name := fs.String("scenario", "", "lesson name (e.g. udp-sendto) or scenario file")
	out := fs.String("o", "", "output file (default: standard output)")
	wire := fs.String("wire", "", "only this wire's frames (e.g. lan0, or A.lo for host A's loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := lessonTrace(*name)
	if err != nil {
		return err
	}
	if *out == "" {
		return writePcap(t, *wire, stdout)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := writePcap(t, *wire, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
