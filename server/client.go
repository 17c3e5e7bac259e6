package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"

	"skbscope/scenario"
)

// clientCmd is `server client -bridge URL -scenario FILE`: the headless
// client. It runs a scenario natively, paced to the wall clock, with its
// bridge link attached to a bridge server's WebSocket, so the simulated
// host talks to a real network without a browser. At the end it reports
// what each program received and can write the trace and a pcap of the
// bridge link.
func clientCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	url := fs.String("bridge", "", "the bridge's WebSocket URL, e.g. ws://127.0.0.1:8080/bridge")
	name := fs.String("scenario", "", "scenario file (or lesson name) with a link whose b end is \"bridge\"")
	tokenFile := fs.String("token-file", "", "file holding the bridge token (else $SKBSCOPE_BRIDGE_TOKEN)")
	traceOut := fs.String("trace", "", "write the trace here, one JSON event a line")
	pcapOut := fs.String("pcap", "", "write the bridge link's frames here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return fmt.Errorf("-bridge is required")
	}
	f, err := loadScenario(*name)
	if err != nil {
		return err
	}
	token := os.Getenv("SKBSCOPE_BRIDGE_TOKEN")
	if *tokenFile != "" {
		p, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		token = string(bytes.TrimSpace(p))
	}
	r, err := scenario.NewRunner(f)
	if err != nil {
		return err
	}
	var link scenario.Link
	for _, l := range f.Links {
		if l.B == scenario.BridgeEnd {
			link = l
		}
	}
	if link.A == "" {
		return fmt.Errorf("%s has no link to the bridge", *name)
	}
	mac, mtu, err := nicOf(f, link.A)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := dialBridge(ctx, *url, token, mac, mtu)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(stdout, "skbscope: %s live on %s as %s, for %.1f s (Ctrl-C stops)\n", link.A, *url, mac, float64(r.Until())/1e9)
	runErr := runLive(ctx, r, c, nil)
	t := r.Trace()
	for _, h := range f.Hosts {
		for _, p := range h.Programs {
			if b := r.Received(h.Name, p.Name); len(b) > 0 {
				fmt.Fprintf(stdout, "%s/%s received %d bytes: %.80q\n", h.Name, p.Name, len(b), b)
			}
		}
	}
	fmt.Fprintf(stdout, "%d events in %.3f s of virtual time\n", len(t.Events), float64(r.Now())/1e9)
	if *traceOut != "" {
		if err := writeFile(*traceOut, t.WriteJSON); err != nil {
			return err
		}
	}
	if *pcapOut != "" {
		if err := writeFile(*pcapOut, func(w io.Writer) error { return writePcap(t, link.Name, w) }); err != nil {
			return err
		}
	}
	if runErr != nil && ctx.Err() == nil {
		return runErr
	}
	return nil
}

// loadScenario parses a scenario file, or loads the lesson of that name.
func loadScenario(name string) (*scenario.File, error) {
	if name == "" {
		return nil, fmt.Errorf("-scenario is required")
	}
	if data, err := os.ReadFile(name); err == nil {
		f, err := scenario.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return f, nil
	}
	return scenario.Load(name)
}

// nicOf finds the MAC and MTU of HOST.NIC in f.
func nicOf(f *scenario.File, end string) (net.HardwareAddr, int, error) {
	for _, h := range f.Hosts {
		for _, n := range h.NICs {
			if h.Name+"."+n.Name == end {
				mac, err := net.ParseMAC(n.MAC)
				mtu := n.MTU
				if mtu == 0 {
					mtu = 1500
				}
				return mac, mtu, err
			}
		}
	}
	return nil, 0, fmt.Errorf("no NIC %s", end)
}

// writeFile creates path and fills it with write.
func writeFile(path string, write func(io.Writer) error) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
