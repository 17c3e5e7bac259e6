// Package trace is the contract between the simulation and every view:
// an ordered list of events, plus the skb snapshots they refer to. Views
// (the UI, the command-line formats, the pcap writer) read only this.
package trace

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Kind says what an event records.
type Kind string

// The event kinds of DESIGN.md, plus alloc (an skb is born).
const (
	Call    Kind = "call"
	Ret     Kind = "ret"
	Alloc   Kind = "alloc"
	Enqueue Kind = "enqueue"
	Dequeue Kind = "dequeue"
	Drop    Kind = "drop"
	Free    Kind = "free"
	Clone   Kind = "clone"
	State   Kind = "state"
	Timer   Kind = "timer"
	IRQ     Kind = "irq"
	Wire    Kind = "wire"
	// Oops is a BUG() hit: the event's Vals hold the console text (see
	// OopsText), and the host runs nothing after it (its open calls stay
	// open).
	Oops Kind = "oops"
)

// Event is one step of the simulation. Call and ret nest per CPU: Up is the
// seq of the call that encloses this event (-1 at the bottom of a stack; for
// a ret, its own call), so the call stack at any event is a walk up that
// chain. Depth is the number of enclosing calls.
type Event struct {
	Seq    int    `json:"seq"`
	T      int64  `json:"t_ns"`
	Host   string `json:"host"`
	CPU    int    `json:"cpu"`
	Ctx    string `json:"ctx"`
	Kind   Kind   `json:"kind"`
	Fn     string `json:"fn,omitempty"`
	File   string `json:"file,omitempty"`
	Layer  string `json:"layer,omitempty"` // the stack map lane the function belongs to
	Skb    []int  `json:"skb,omitempty"`
	Snap   []int  `json:"snap,omitempty"` // index into Trace.Snaps, one per Skb
	Ret    string `json:"ret,omitempty"`
	Queue  string `json:"queue,omitempty"`
	QLen   int    `json:"qlen,omitempty"` // queue length after an enqueue/dequeue
	Reason string `json:"reason,omitempty"`
	Note   string `json:"note,omitempty"` // what the function decided, in plain words
	Frame  Bytes  `json:"frame,omitempty"`
	Wire   string `json:"wire,omitempty"`
	// Vals are named values a view can plot or tabulate, e.g. a TCP
	// socket's cwnd and sequence numbers after tcp_ack.
	Vals  []Field `json:"vals,omitempty"`
	Up    int     `json:"up"`
	Depth int     `json:"depth"`
}

// Bytes marshals as a hex string: frames are read by people too.
type Bytes []byte

// MarshalJSON writes the bytes as lowercase hex.
func (b Bytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(hex.EncodeToString(b))
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("frame: %w", err)
	}
	*b = v
	return nil
}

// Trace is a whole run.
type Trace struct {
	Scenario string    `json:"scenario"`
	Hosts    []Host    `json:"hosts"`
	Events   []Event   `json:"events"`
	Snaps    []SkbSnap `json:"snaps"`
	// Links lists the wires that do not carry Ethernet frames, with
	// their pcap link type. Absent: every wire is Ethernet.
	Links []Link `json:"links,omitempty"`
}

// Link is a wire whose frames are not Ethernet.
type Link struct {
	Name string `json:"name"`
	// LinkType is the pcap LINKTYPE_ the wire's frames are written as.
	LinkType int `json:"linktype"`
}

// Host describes one simulated machine, for drawing.
type Host struct {
	Name    string   `json:"name"`
	Devices []Device `json:"devices"`
}

// Device is a network interface as `ip link` would list it.
type Device struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
	MAC    string `json:"mac"`
	Addr   string `json:"addr"`
	MTU    int    `json:"mtu"`
	Qdisc  string `json:"qdisc"`
}

// Stack returns the call stack at event i, innermost first: the seqs of
// the enclosing call events. A trace read from a file is not trusted: the
// walk stops at any link that does not point backwards.
func (t *Trace) Stack(i int) []int {
	var s []int
	if i < 0 || i >= len(t.Events) {
		return nil
	}
	e := &t.Events[i]
	if e.Kind == Call {
		s = append(s, i)
	}
	for up, at := e.Up, i; up >= 0 && up < at; up = t.Events[up].Up {
		s = append(s, up)
		at = up
	}
	return s
}

// SnapOf returns the snapshot of skb id as it was at event i (the latest
// snapshot recorded at or before i), or nil.
func (t *Trace) SnapOf(i, id int) *SkbSnap {
	if i >= len(t.Events) {
		i = len(t.Events) - 1
	}
	for ; i >= 0; i-- {
		e := &t.Events[i]
		for k, s := range e.Skb {
			if s == id && k < len(e.Snap) && e.Snap[k] >= 0 && e.Snap[k] < len(t.Snaps) {
				return &t.Snaps[e.Snap[k]]
			}
		}
	}
	return nil
}

// Wires lists the wires that carried frames, in order of first use.
func (t *Trace) Wires() []string {
	var ws []string
	seen := map[string]bool{}
	for i := range t.Events {
		if w := t.Events[i].Wire; t.Events[i].Kind == Wire && !seen[w] {
			seen[w] = true
			ws = append(ws, w)
		}
	}
	return ws
}

// OopsText is the console text of an oops event, as the kernel printed
// it, or "". It lives in Vals (named "console") rather than in a field of
// its own: growing Event would change every trace's allocation pattern.
func (e *Event) OopsText() string {
	for _, v := range e.Vals {
		if v.Name == "console" {
			return v.Value
		}
	}
	return ""
}
