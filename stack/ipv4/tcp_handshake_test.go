package ipv4_test

import (
	"skbscope/stack/header"
	"skbscope/stack/trace"
	"strings"
	"testing"

	"skbscope/scenario"
)

// TestCheckReqHashdance: tcp_check_req first has syn_recv_sock make the
// child, then itself calls inet_csk_complete_hashdance, which moves it
// to the accept queue (6.12's order: the hashdance is not inside
// tcp_v4_syn_recv_sock).
func TestCheckReqHashdance(t *testing.T) {
	tr := simulate(t, world(t, 100_000_000, []scenario.Program{client()}, []scenario.Program{server()}))
	cr := calls(tr, "B", "tcp_check_req")
	if len(cr) != 1 {
		t.Fatalf("%d tcp_check_req calls", len(cr))
	}
	srs := calls(tr, "B", "tcp_v4_syn_recv_sock")
	hd := calls(tr, "B", "inet_csk_complete_hashdance")
	if len(srs) != 1 || len(hd) != 1 {
		t.Fatalf("syn_recv_sock %v, hashdance %v", srs, hd)
	}
	if tr.Events[srs[0]].Up != cr[0] || tr.Events[hd[0]].Up != cr[0] {
		t.Errorf("syn_recv_sock in %s, hashdance in %s; want both in tcp_check_req", parentFn(tr, srs[0]), parentFn(tr, hd[0]))
	}
	if r := retOf(tr, srs[0]); r == nil || r.Seq > hd[0] {
		t.Error("the hashdance runs before syn_recv_sock returned")
	}
	if q := calls(tr, "B", "inet_csk_reqsk_queue_add"); len(q) != 1 || !inside(tr, q[0], hd[0]) {
		t.Errorf("inet_csk_reqsk_queue_add %v, want one inside the hashdance", q)
	}
}

// synackTimes are the times B sent a SYN-ACK to the stranger.
func synackTimes(tr *trace.Trace) []int64 {
	var r []int64
	for _, s := range segments(tr) {
		if s.from == "B" && s.flags&(header.TCPSyn|header.TCPAck) == header.TCPSyn|header.TCPAck {
			r = append(r, s.t)
		}
	}
	return r
}

// TestSynackRetransmit: a SYN whose SYN-ACK is never acknowledged.
// reqsk_timer_handler resends it (inet_rtx_syn_ack → tcp_rtx_synack →
// tcp_v4_send_synack) after 1, 2, 4, 8 and 16 s, tcp_synack_retries (5)
// times, and after 32 s more drops the request
// (__inet_csk_reqsk_queue_drop): a late ACK then meets the listener,
// which resets it.
func TestSynackRetransmit(t *testing.T) {
	f := world(t, 70_000_000_000, nil, []scenario.Program{server()})
	withStranger(f)
	f.Inject = []scenario.Inject{
		{AtNs: 1_000_000, To: "B.eth0", Frame: strangerSegment(1000, 0, header.TCPSyn, 1)},
		{AtNs: 65_000_000_000, To: "B.eth0", Frame: strangerSegment(1001, 1, header.TCPAck, 2)},
	}
	tr := simulate(t, f)
	got := synackTimes(tr)
	if len(got) != 6 {
		t.Fatalf("%d SYN-ACKs at %v, want 6", len(got), got)
	}
	for i, want := range []int64{1, 2, 4, 8, 16} {
		gap := got[i+1] - got[i]
		if gap < want*1_000_000_000 || gap > want*1_000_000_000+10_000_000 {
			t.Errorf("SYN-ACK %d came %d ns after the one before, want %d s", i+2, gap, want)
		}
	}
	th := calls(tr, "B", "reqsk_timer_handler")
	if len(th) != 6 {
		t.Fatalf("%d reqsk_timer_handler calls, want 6", len(th))
	}
	for i, c := range th[:5] {
		if tr.Events[c].Ctx != "timer:reqsk_timer_handler" {
			t.Errorf("reqsk_timer_handler runs in %s", tr.Events[c].Ctx)
		}
		rtx := calls(tr, "B", "tcp_rtx_synack")
		if len(rtx) != 5 || !inside(tr, rtx[i], c) || parentFn(tr, rtx[i]) != "inet_rtx_syn_ack" {
			t.Fatalf("tcp_rtx_synack %v is not inet_rtx_syn_ack's, in the timer", rtx)
		}
	}
	drop := calls(tr, "B", "__inet_csk_reqsk_queue_drop")
	if len(drop) != 1 || !inside(tr, drop[0], th[5]) {
		t.Fatalf("__inet_csk_reqsk_queue_drop %v, want one in the sixth timer", drop)
	}
	if d := tr.Events[drop[0]].T - got[0]; d < 63_000_000_000 || d > 63_100_000_000 {
		t.Errorf("the request was dropped %d ns after the first SYN-ACK, want 63 s", d)
	}
	var rst []segment
	for _, s := range segments(tr) {
		if s.from == "B" && s.flags&header.TCPRst != 0 {
			rst = append(rst, s)
		}
	}
	if len(rst) != 1 || rst[0].seq != 1 {
		t.Errorf("the late ACK got %v, want one RST with seq 1", rst)
	}
}

// TestSynRetransmittedToRequest: the stranger sends its SYN again after
// 500 ms: tcp_check_req answers at once with the SYN-ACK again
// (inet_rtx_syn_ack) and restarts the timer; a third copy 100 ms later
// is within tcp_invalid_ratelimit and gets nothing.
func TestSynRetransmittedToRequest(t *testing.T) {
	f := world(t, 3_000_000_000, nil, []scenario.Program{server()})
	withStranger(f)
	syn := strangerSegment(1000, 0, header.TCPSyn, 1)
	f.Inject = []scenario.Inject{
		{AtNs: 1_000_000, To: "B.eth0", Frame: syn},
		{AtNs: 501_000_000, To: "B.eth0", Frame: syn},
		{AtNs: 601_000_000, To: "B.eth0", Frame: syn},
	}
	tr := simulate(t, f)
	got := synackTimes(tr)
	// 1 ms, 501 ms (the answer to the copy), then the timer, restarted
	// at 501 ms: 1.501 s, then 2 s later 3.501 s (after the end).
	if len(got) != 3 {
		t.Fatalf("SYN-ACKs at %v, want 3", got)
	}
	for i, want := range []int64{1_000_000, 501_000_000, 1_501_000_000} {
		if got[i] < want || got[i] > want+5_000_000 {
			t.Errorf("SYN-ACK %d at %d ns, want about %d", i+1, got[i], want)
		}
	}
	cr := calls(tr, "B", "tcp_check_req")
	if len(cr) != 2 {
		t.Fatalf("%d tcp_check_req calls, want 2 (the copies)", len(cr))
	}
	if rtx := calls(tr, "B", "inet_rtx_syn_ack"); len(rtx) < 1 || !inside(tr, rtx[0], cr[0]) {
		t.Error("the first copy was not answered from tcp_check_req")
	}
	for _, c := range calls(tr, "B", "inet_rtx_syn_ack") {
		if inside(tr, c, cr[1]) {
			t.Error("the copy within the rate limit was answered")
		}
	}
}

// TestAcceptQueueOverflow: a listener with backlog 1 that does not
// accept for 3 s, and three connects. Two children fit the
// accept queue (it is full only above the backlog); the third final ACK
// finds it full: tcp_v4_syn_recv_sock returns NULL and tcp_check_req
// ignores the ACK, keeping the request. The client is established
// already; the SYN-ACKs the request's timer sends again get its
// challenge ACKs (a SYN on a synchronized connection,
// SKB_DROP_REASON_TCP_INVALID_SYN), and once the server has accepted,
// one of those completes the third connection.
func TestAcceptQueueOverflow(t *testing.T) {
	// The first connect completes before the other two start, so their
	// SYNs find one request sock at most, which is within the backlog
	// (Linux would answer with syncookies above it).
	steps := []scenario.Step{{Op: "socket", Type: "tcp", As: "a"}, {Op: "connect", Sock: "a", To: "192.0.2.2:80"}}
	for _, s := range []string{"b", "c"} {
		steps = append(steps, scenario.Step{Op: "socket", Type: "tcp", As: s, Nonblock: true},
			scenario.Step{Op: "connect", Sock: s, To: "192.0.2.2:80"})
	}
	steps = append(steps, scenario.Step{Op: "sleep", Ns: 9_000_000_000})
	srv := prog("server", 0, scenario.Step{Op: "socket", Type: "tcp", As: "l"}, scenario.Step{Op: "bind", Sock: "l", Addr: "0.0.0.0:80"},
		scenario.Step{Op: "listen", Sock: "l", Count: 1}, scenario.Step{Op: "sleep", Ns: 3_000_000_000},
		scenario.Step{Op: "accept", Sock: "l", As: "x"}, scenario.Step{Op: "accept", Sock: "l", As: "y"},
		scenario.Step{Op: "accept", Sock: "l", As: "z"})
	tr := simulate(t, world(t, 10_000_000_000, []scenario.Program{prog("client", 1000, steps...)}, []scenario.Program{srv}))
	srs := calls(tr, "B", "tcp_v4_syn_recv_sock")
	full := 0
	for _, c := range srs {
		if r := retOf(tr, c); r != nil && r.Ret == "NULL" {
			full++
		}
	}
	if len(srs) < 4 || full == 0 {
		t.Fatalf("%d tcp_v4_syn_recv_sock calls, %d found the accept queue full", len(srs), full)
	}
	acc := calls(tr, "B", "__sys_accept4")
	if len(acc) != 3 {
		t.Fatalf("%d accepts", len(acc))
	}
	for i, c := range acc {
		if r := retOf(tr, c); r == nil || strings.HasPrefix(r.Ret, "-") {
			t.Errorf("accept %d returned %v", i+1, r)
		}
	}
	if r := retOf(tr, acc[2]); r.T < 3_000_000_000+1 {
		t.Errorf("the third accept returned at %d ns", r.T)
	}
	ch := calls(tr, "A", "tcp_send_challenge_ack")
	if len(ch) == 0 || parentFn(tr, ch[0]) != "tcp_validate_incoming" {
		t.Fatalf("tcp_send_challenge_ack %v", ch)
	}
	inv := 0
	for _, e := range tr.Events {
		if e.Host == "A" && e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_TCP_INVALID_SYN" {
			inv++
		}
	}
	if inv == 0 {
		t.Error("no SYN-ACK dropped as TCP_INVALID_SYN")
	}
	for _, s := range segments(tr) {
		if s.flags&header.TCPRst != 0 {
			t.Errorf("a RST from %s at %d", s.from, s.t)
		}
	}
}
