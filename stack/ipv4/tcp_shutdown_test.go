package ipv4_test

import (
	"testing"

	"skbscope/scenario"
)

// TestShutdownSynSent: shutdown() of a connect in progress aborts it as
// inet_shutdown does in 6.12, through sk_prot->disconnect: tcp_disconnect
// moves SYN_SENT to CLOSE, stops the retransmit timer (no SYN goes
// again) and shutdown returns 0; the socket can connect again.
func TestShutdownSynSent(t *testing.T) {
	f := world(t, 3_000_000_000, []scenario.Program{prog("client", 1000,
		scenario.Step{Op: "socket", Type: "tcp", As: "s", Nonblock: true},
		scenario.Step{Op: "connect", Sock: "s", To: "192.0.2.2:80"},
		scenario.Step{Op: "sleep", Ns: 10_000_000},
		scenario.Step{Op: "shutdown", Sock: "s", How: "SHUT_RDWR"},
	)}, nil)
	f.Links[0].LossPct = 100 // the SYN never arrives
	tr := simulate(t, f)
	sh := calls(tr, "A", "inet_shutdown")
	if len(sh) != 1 {
		t.Fatalf("%d inet_shutdown calls", len(sh))
	}
	if r := retOf(tr, sh[0]); r == nil || r.Ret != "0" {
		t.Errorf("inet_shutdown returned %v, want 0", r)
	}
	dc := calls(tr, "A", "tcp_disconnect")
	if len(dc) != 1 || !inside(tr, dc[0], sh[0]) {
		t.Fatalf("tcp_disconnect calls %v, want one inside inet_shutdown", dc)
	}
	if !hasState(tr, "A", "TCP_SYN_SENT → TCP_CLOSE") {
		t.Error("no SYN_SENT → CLOSE")
	}
	if n := len(calls(tr, "A", "tcp_retransmit_timer")); n != 0 {
		t.Errorf("the SYN was retransmitted %d times after the abort", n)
	}
	syns := 0
	for _, s := range segments(tr) {
		if s.from == "A" {
			syns++
		}
	}
	if syns != 1 {
		t.Errorf("%d segments from A, want the one SYN", syns)
	}
}

// TestShutdownListener: SHUT_WR on a listener does nothing; SHUT_RD stops
// it (tcp_disconnect → inet_csk_listen_stop), so a later SYN finds no
// socket and gets a RST, and connect() fails with -ECONNREFUSED.
func TestShutdownListener(t *testing.T) {
	srv := prog("server", 0,
		scenario.Step{Op: "socket", Type: "tcp", As: "l"}, scenario.Step{Op: "bind", Sock: "l", Addr: "0.0.0.0:80"},
		scenario.Step{Op: "listen", Sock: "l", Count: 16},
		scenario.Step{Op: "shutdown", Sock: "l", How: "SHUT_WR"},
		scenario.Step{Op: "shutdown", Sock: "l", How: "SHUT_RD"},
	)
	cl := prog("client", 1_000_000, scenario.Step{Op: "socket", Type: "tcp", As: "s"},
		scenario.Step{Op: "connect", Sock: "s", To: "192.0.2.2:80"})
	tr := simulate(t, world(t, 1_000_000_000, []scenario.Program{cl}, []scenario.Program{srv}))
	sh := calls(tr, "B", "inet_shutdown")
	if len(sh) != 2 {
		t.Fatalf("%d inet_shutdown calls", len(sh))
	}
	for i, c := range sh {
		if r := retOf(tr, c); r == nil || r.Ret != "0" {
			t.Errorf("shutdown %d returned %v", i, r)
		}
	}
	dc := calls(tr, "B", "tcp_disconnect")
	if len(dc) != 1 || !inside(tr, dc[0], sh[1]) {
		t.Fatalf("tcp_disconnect %v, want one, in the SHUT_RD", dc)
	}
	if ls := calls(tr, "B", "inet_csk_listen_stop"); len(ls) != 1 || !inside(tr, ls[0], dc[0]) {
		t.Errorf("inet_csk_listen_stop %v, want one inside tcp_disconnect", ls)
	}
	if !hasState(tr, "B", "TCP_LISTEN → TCP_CLOSE") {
		t.Error("no LISTEN → CLOSE")
	}
	if len(calls(tr, "B", "tcp_v4_send_reset")) != 1 {
		t.Error("the SYN to the stopped listener got no RST")
	}
	c := calls(tr, "A", "__sys_connect")
	if len(c) != 1 {
		t.Fatal("no connect")
	}
	if r := retOf(tr, c[0]); r == nil || r.Ret != "-ECONNREFUSED" {
		t.Errorf("connect returned %v, want -ECONNREFUSED", r)
	}
}
