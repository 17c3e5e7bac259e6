package ipv4_test

import (
	"strings"
	"testing"

	"skbscope/scenario"
	"skbscope/stack/header"
)

// TestSyncookies: a listener with backlog 1 gets three SYNs at once.
// Two become request socks; the third finds the queue of requests full
// (more than the backlog): tcp_syn_flood_action says to send cookies,
// and cookie_v4_init_sequence makes the SYN-ACK's ISN a syncookie, its
// TSval carrying the peer's window scale and SACK permission in the low
// 6 bits; nothing is kept. The client's ACK comes to the listener itself:
// tcp_v4_cookie_check → cookie_v4_check finds a valid cookie and
// tcp_get_cookie_sock makes the child, which the server accepts and
// reads from. A stray ACK with no valid cookie is reset by the listener.
func TestSyncookies(t *testing.T) {
	var steps []scenario.Step
	for _, s := range []string{"a", "b", "c"} {
		steps = append(steps, scenario.Step{Op: "socket", Type: "tcp", As: s, Nonblock: true},
			scenario.Step{Op: "connect", Sock: s, To: "192.0.2.2:80"})
	}
	steps = append(steps, scenario.Step{Op: "sleep", Ns: 20_000_000}, scenario.Step{Op: "send", Sock: "c", Data: "hello"},
		scenario.Step{Op: "sleep", Ns: 100_000_000})
	srv := prog("server", 0, scenario.Step{Op: "socket", Type: "tcp", As: "l"}, scenario.Step{Op: "bind", Sock: "l", Addr: "0.0.0.0:80"},
		scenario.Step{Op: "listen", Sock: "l", Count: 1},
		scenario.Step{Op: "accept", Sock: "l", As: "x"}, scenario.Step{Op: "accept", Sock: "l", As: "y"},
		scenario.Step{Op: "accept", Sock: "l", As: "z"}, scenario.Step{Op: "recv", Sock: "z", Size: 100})
	f := world(t, 200_000_000, []scenario.Program{prog("client", 1000, steps...)}, []scenario.Program{srv})
	withStranger(f)
	f.Inject = []scenario.Inject{{AtNs: 50_000_000, To: "B.eth0", Frame: strangerSegment(5000, 12345, header.TCPAck, 7)}}
	r, tr := run(t, f)
	if got := string(r.Received("B", "server")); got != "hello" {
		t.Errorf("the server read %q", got)
	}
	if n := len(calls(tr, "B", "tcp_syn_flood_action")); n != 1 {
		t.Fatalf("%d tcp_syn_flood_action calls, want 1", n)
	}
	ci := calls(tr, "B", "cookie_v4_init_sequence")
	if len(ci) != 1 || !strings.Contains(tr.Events[ci[0]].Note, "mss 1460") {
		t.Fatalf("cookie_v4_init_sequence %v", ci)
	}
	var cookieSynack segment
	for _, s := range segments(tr) {
		if s.from == "B" && s.flags&header.TCPSyn != 0 && s.t >= tr.Events[ci[0]].T {
			cookieSynack = s
			break
		}
	}
	if low := cookieSynack.opts.TSVal & 0x3f; low != 7|1<<4 {
		t.Errorf("the cookie SYN-ACK's TSval ends in %#x, want wscale 7 and SACK (0x17)", low)
	}
	cc := calls(tr, "B", "tcp_v4_cookie_check")
	var good, bad int
	for _, c := range cc {
		switch ret := retOf(tr, c).Ret; {
		case strings.HasPrefix(ret, "sk1.child"):
			good++
			if g := calls(tr, "B", "tcp_get_cookie_sock"); len(g) != 1 || !inside(tr, g[0], c) {
				t.Error("the child is not tcp_get_cookie_sock's")
			}
		case ret == "sk (the listener)":
			bad++
		}
	}
	if good != 1 || bad != 1 {
		t.Errorf("%d valid and %d invalid cookies, want 1 and 1", good, bad)
	}
	rst := 0
	for _, s := range segments(tr) {
		if s.flags&header.TCPRst != 0 {
			rst++
			if s.from != "B" || s.seq != 12345 {
				t.Errorf("a RST from %s seq %d", s.from, s.seq)
			}
		}
	}
	if rst != 1 {
		t.Errorf("%d RSTs, want the one for the stray ACK", rst)
	}
}
