// Package scenario reads lesson files (versioned JSON) and turns them into
// a simulation: hosts with their NICs, addresses, routes and neighbours,
// the links between them, and the programs their tasks run.
package scenario

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Version is the scenario format this code reads.
const Version = 1

// File is a scenario file.
type File struct {
	Version int      `json:"version"`
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Seed    string   `json:"seed"` // the seed post the lesson follows
	Intro   string   `json:"intro"`
	RNGSeed uint64   `json:"rng_seed"`
	UntilNs int64    `json:"until_ns"` // how long to simulate; 0 = until quiet
	Hosts   []Host   `json:"hosts"`
	Links   []Link   `json:"links"`
	Inject  []Inject `json:"inject"`
}

// Inject puts a frame on the wire towards a NIC at a given time: traffic
// from outside the scenario (a test, a fuzzer, a bridged real network).
type Inject struct {
	AtNs  int64  `json:"at_ns"`
	To    string `json:"to"`    // "HOST.NIC"
	Frame string `json:"frame"` // hex, without FCS
}

// Host is one machine.
type Host struct {
	Name       string      `json:"name"`
	NICs       []NIC       `json:"nics"`
	Neighbours []Neighbour `json:"neighbours"`
	Taps       []Tap       `json:"taps"`
	Programs   []Program   `json:"programs"`
}

// NIC is a network interface and its driver model.
type NIC struct {
	Name   string `json:"name"`
	Driver string `json:"driver"` // "e1000e"
	MAC    string `json:"mac"`
	Addr   string `json:"addr"` // CIDR, e.g. 192.0.2.1/24
	MTU    int    `json:"mtu"`
	Qdisc  string `json:"qdisc"` // "pfifo_fast"
}

// Neighbour is a static entry: `ip neigh replace ADDR lladdr MAC dev DEV`.
type Neighbour struct {
	Addr   string `json:"addr"`
	LLAddr string `json:"lladdr"`
	Dev    string `json:"dev"`
}

// Tap is a packet capture running on a device.
type Tap struct {
	Dev     string `json:"dev"`
	Program string `json:"program"`
}

// Program is a task and the system calls it makes, in order, from AtNs.
type Program struct {
	Name  string `json:"name"`
	AtNs  int64  `json:"at_ns"`
	Steps []Step `json:"steps"`
}

// Step is one system call.
type Step struct {
	Op    string `json:"op"`    // "socket", "bind", "sendto", "recvfrom", "sleep", "ping"
	Type  string `json:"type"`  // socket: "udp", or "icmp" for a ping socket
	As    string `json:"as"`    // socket: the name later steps use
	Sock  string `json:"sock"`  // sendto: which socket
	FD    *int   `json:"fd"`    // sendto: a raw descriptor instead of a socket name
	To    string `json:"to"`    // sendto: "ADDR:PORT"
	Addr  string `json:"addr"`  // bind: "ADDR:PORT", e.g. "0.0.0.0:9000"
	Size  int    `json:"size"`  // recvfrom: the buffer's size; ping: payload bytes (56)
	Ns    int64  `json:"ns"`    // sleep: how long; ping: interval (1 s)
	Count int    `json:"count"` // ping: how many echo requests (1)
	Data  string `json:"data"`  // sendto: the payload
}

// Link is a cable between two NICs, named "HOST.NIC".
type Link struct {
	Name    string `json:"name"`
	A       string `json:"a"`
	B       string `json:"b"`
	RateBps int64  `json:"rate_bps"`
	DelayNs int64  `json:"delay_ns"`
}

// Parse reads and checks a scenario. Errors name the line and column.
func Parse(data []byte) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, positioned(data, err, dec.InputOffset())
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the scenario", where(data, dec.InputOffset()))
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return &f, nil
}

func positioned(data []byte, err error, fallback int64) error {
	off := fallback
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1 // the offset is just past the bad byte
	case errors.As(err, &te):
		off = te.Offset
	}
	return fmt.Errorf("%s: %v", where(data, off), err)
}

// where turns a byte offset into "line L, column C".
func where(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

func (f *File) check() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if f.Version != Version {
		bad("version %d: this skbscope reads version %d", f.Version, Version)
	}
	nics := map[string]bool{}
	for _, h := range f.Hosts {
		if h.Name == "" || strings.Contains(h.Name, ".") {
			bad("host %q: a name without dots is required", h.Name)
		}
		for _, n := range h.NICs {
			nics[h.Name+"."+n.Name] = true
			if n.Driver != "e1000e" {
				bad("%s.%s: driver %q is not modelled (e1000e is)", h.Name, n.Name, n.Driver)
			}
			if n.Qdisc != "" && n.Qdisc != "pfifo_fast" {
				bad("%s.%s: qdisc %q is not modelled (pfifo_fast is)", h.Name, n.Name, n.Qdisc)
			}
			if _, err := netip.ParsePrefix(n.Addr); err != nil || !strings.Contains(n.Addr, ".") {
				bad("%s.%s: addr %q is not an IPv4 prefix like 192.0.2.1/24", h.Name, n.Name, n.Addr)
			}
			if n.MTU != 0 && (n.MTU < 68 || n.MTU > 9000) {
				bad("%s.%s: mtu %d outside 68..9000", h.Name, n.Name, n.MTU)
			}
		}
		for _, p := range h.Programs {
			for i, s := range p.Steps {
				switch s.Op {
				case "socket":
					if s.Type != "udp" && s.Type != "icmp" {
						bad("%s/%s step %d: socket type %q is not modelled (udp and icmp are)", h.Name, p.Name, i+1, s.Type)
					}
				case "sleep":
					if s.Ns <= 0 || s.Ns > 3_600_000_000_000 {
						bad("%s/%s step %d: sleep ns %d outside 1..3600 s", h.Name, p.Name, i+1, s.Ns)
					}
				case "ping":
					if a, err := netip.ParseAddr(s.To); err != nil || !a.Is4() {
						bad("%s/%s step %d: ping to %q is not an IPv4 address", h.Name, p.Name, i+1, s.To)
					}
					if s.Count < 0 || s.Count > 100 || s.Size < 0 || s.Size > 1400 || s.Ns < 0 {
						bad("%s/%s step %d: ping count 0..100, size 0..1400, ns >= 0", h.Name, p.Name, i+1)
					}
				case "sendto":
					if _, err := netip.ParseAddrPort(s.To); err != nil {
						bad("%s/%s step %d: to %q: %v", h.Name, p.Name, i+1, s.To, err)
					}
				case "bind":
					if _, err := netip.ParseAddrPort(s.Addr); err != nil {
						bad("%s/%s step %d: addr %q: %v", h.Name, p.Name, i+1, s.Addr, err)
					}
				case "recvfrom":
					if s.Size < 0 || s.Size > 1<<20 {
						bad("%s/%s step %d: size %d outside 0..1048576", h.Name, p.Name, i+1, s.Size)
					}
				default:
					bad("%s/%s step %d: unknown op %q", h.Name, p.Name, i+1, s.Op)
				}
			}
		}
	}
	for _, l := range f.Links {
		for _, end := range []string{l.A, l.B} {
			if !nics[end] {
				bad("link %s: no NIC %q", l.Name, end)
			}
		}
		if l.RateBps <= 0 {
			bad("link %s: rate_bps must be positive", l.Name)
		}
		if l.DelayNs < 0 {
			bad("link %s: delay_ns must not be negative", l.Name)
		}
	}
	for i, in := range f.Inject {
		if !nics[in.To] {
			bad("inject %d: no NIC %q", i+1, in.To)
		}
		if b, err := hex.DecodeString(in.Frame); err != nil || len(b) > 65536 {
			bad("inject %d: frame is not hex of at most 65536 bytes", i+1)
		}
		if in.AtNs < 0 {
			bad("inject %d: at_ns must not be negative", i+1)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
