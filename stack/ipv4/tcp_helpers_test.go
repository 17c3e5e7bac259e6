package ipv4_test

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"skbscope/scenario"
	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// The TCP tests run two hosts of the tcp-handshake lesson (A 192.0.2.1,
// B 192.0.2.2, one 100 Mbit/s cable) with programs of their own, and
// read the trace.

// world is the tcp-handshake lesson's two hosts with the given programs
// and simulated time.
func world(t *testing.T, untilNs int64, a, b []scenario.Program) *scenario.File {
	t.Helper()
	f, err := scenario.Load("tcp-handshake")
	if err != nil {
		t.Fatal(err)
	}
	f.UntilNs = untilNs
	f.Hosts[0].Programs, f.Hosts[1].Programs = a, b
	return f
}

func simulate(t *testing.T, f *scenario.File) *trace.Trace {
	t.Helper()
	tr, err := scenario.Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// prog is a program of steps starting at atNs.
func prog(name string, atNs int64, steps ...scenario.Step) scenario.Program {
	return scenario.Program{Name: name, AtNs: atNs, Steps: steps}
}

// server listens on port 80 and accepts one connection as "c", then
// runs more.
func server(more ...scenario.Step) scenario.Program {
	return prog("server", 0, append([]scenario.Step{
		{Op: "socket", Type: "tcp", As: "l"}, {Op: "bind", Sock: "l", Addr: "0.0.0.0:80"},
		{Op: "listen", Sock: "l", Count: 16}, {Op: "accept", Sock: "l", As: "c"},
	}, more...)...)
}

// client connects "s" to B's port 80, then runs more.
func client(more ...scenario.Step) scenario.Program {
	return prog("client", 1000, append([]scenario.Step{
		{Op: "socket", Type: "tcp", As: "s"}, {Op: "connect", Sock: "s", To: "192.0.2.2:80"},
	}, more...)...)
}

// calls are the indexes of host's calls of fn.
func calls(tr *trace.Trace, host, fn string) []int {
	var r []int
	for i, e := range tr.Events {
		if e.Host == host && e.Kind == trace.Call && e.Fn == fn {
			r = append(r, i)
		}
	}
	return r
}

// callsFrom are host's calls of fn, failing t when there is none
// (why says what that means) and reporting each that is not called from
// parent.
func callsFrom(t *testing.T, tr *trace.Trace, host, fn, parent, why string) []int {
	t.Helper()
	cs := calls(tr, host, fn)
	if len(cs) == 0 {
		t.Fatal(why)
	}
	for _, c := range cs {
		if got := parentFn(tr, c); got != parent {
			t.Errorf("%s from %s, want %s", fn, got, parent)
		}
	}
	return cs
}

// retOf is the ret event of the call at index call.
func retOf(tr *trace.Trace, call int) *trace.Event {
	for i := call + 1; i < len(tr.Events); i++ {
		if e := &tr.Events[i]; e.Kind == trace.Ret && e.Up == call {
			return e
		}
	}
	return nil
}

// inside reports whether the event at i runs (directly or deeper) in the
// call at index call.
func inside(tr *trace.Trace, i, call int) bool {
	for up := tr.Events[i].Up; up >= 0; up = tr.Events[up].Up {
		if up == call {
			return true
		}
	}
	return false
}

// parentFn is the function of the call the event at i runs in.
func parentFn(tr *trace.Trace, i int) string {
	if up := tr.Events[i].Up; up >= 0 {
		return tr.Events[up].Fn
	}
	return ""
}

// hasState reports whether a state event of host ends with change
// ("TCP_SYN_SENT → TCP_CLOSE").
func hasState(tr *trace.Trace, host, change string) bool {
	for _, e := range tr.Events {
		if e.Host == host && e.Kind == trace.State && strings.HasSuffix(e.Note, change) {
			return true
		}
	}
	return false
}

// segment is a TCP segment seen on the wire.
type segment struct {
	t        int64
	from     string // the host that sent it
	flags    uint8
	seq, ack uint32
	win      uint16
	dlen     int
	opts     header.TCPOptions
}

// segments are the TCP segments the hosts put on the wire, in order.
func segments(tr *trace.Trace) []segment {
	var r []segment
	for _, e := range tr.Events {
		if e.Kind != trace.Wire || len(e.Frame) < 14+header.IPv4MinLen+header.TCPMinLen {
			continue
		}
		if header.Ethernet(e.Frame).Type() != header.EtherTypeIPv4 {
			continue
		}
		ip := header.IPv4(e.Frame[14:])
		if ip.Protocol() != header.ProtoTCP {
			continue
		}
		th := header.TCP(e.Frame[14+ip.IHL() : 14+ip.TotalLen()])
		r = append(r, segment{t: e.T, from: e.Host, flags: th.Flags(), seq: th.Seq(), ack: th.Ack(), win: th.Window(),
			dlen: len(th) - th.DataOff(), opts: th.Options()})
	}
	return r
}

// run simulates f and returns the runner, for the bytes its programs
// received, and the trace.
func run(t *testing.T, f *scenario.File) (*scenario.Runner, *trace.Trace) {
	t.Helper()
	r, err := scenario.NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	for !r.Step(1 << 20) {
	}
	return r, r.Trace()
}

// nextSibling is the index of the next call made by the same caller as
// the call at i, or -1.
func nextSibling(tr *trace.Trace, i int) int {
	for j := i + 1; j < len(tr.Events); j++ {
		e := &tr.Events[j]
		if e.Kind == trace.Call && e.Up == tr.Events[i].Up {
			return j
		}
		if e.Kind == trace.Ret && j == tr.Events[i].Up {
			return -1
		}
	}
	return -1
}

// A third party, 192.0.2.3 (MAC 02:00:00:00:00:0c), whose frames the
// tests inject into B: B knows its address, but it never answers.
var (
	strangerIP  = netip.MustParseAddr("192.0.2.3")
	strangerMAC = header.MAC{2, 0, 0, 0, 0, 0x0c}
	hostB       = netip.MustParseAddr("192.0.2.2")
	hostBMAC    = header.MAC{2, 0, 0, 0, 0, 0x0b}
)

// strangerSegment is a frame from the stranger's port 40000 to B's port
// 80, with Linux's SYN options when it is a SYN.
func strangerSegment(seq, ack uint32, flags uint8, tsVal uint32) string {
	return strangerSegmentData(seq, ack, flags, tsVal, nil)
}

// strangerSegmentData is strangerSegment with a payload.
func strangerSegmentData(seq, ack uint32, flags uint8, tsVal uint32, data []byte) string {
	opts := header.TCPOptions{WScale: -1, TS: true, TSVal: tsVal}
	if flags&header.TCPSyn != 0 {
		opts = header.TCPOptions{MSS: 1460, SACKPerm: true, TS: true, TSVal: tsVal, WScale: 7}
	}
	ob := header.AppendTCPOptions(nil, opts)
	tcp := make([]byte, header.TCPMinLen+len(ob), header.TCPMinLen+len(ob)+len(data))
	header.TCP(tcp).Encode(40000, 80, seq, ack, len(tcp), flags, 64240)
	copy(tcp[header.TCPMinLen:], ob)
	tcp = append(tcp, data...)
	header.TCP(tcp).SetChecksum(header.TransportChecksum(strangerIP, hostB, header.ProtoTCP, tcp))
	ip := make([]byte, header.IPv4MinLen)
	header.IPv4(ip).Encode(0, 1, header.IPv4DF, 64, header.ProtoTCP, strangerIP, hostB)
	header.IPv4(ip).SetTotalLen(len(ip) + len(tcp))
	header.IPv4(ip).SetChecksum()
	eth := make([]byte, 14)
	header.Ethernet(eth).Encode(hostBMAC, strangerMAC, header.EtherTypeIPv4)
	return hex.EncodeToString(append(append(eth, ip...), tcp...))
}

// withStranger lets B reach the stranger (a static neighbour entry).
func withStranger(f *scenario.File) {
	f.Hosts[1].Neighbours = append(f.Hosts[1].Neighbours, scenario.Neighbour{Addr: strangerIP.String(), LLAddr: "02:00:00:00:00:0c", Dev: "eth0"})
}

func mustLoad(t *testing.T, name string) *scenario.File {
	t.Helper()
	f, err := scenario.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
