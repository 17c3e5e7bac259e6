package ipv4_test

import (
	"strings"
	"testing"
)

// TestRackReoTimer: of three segments the middle one is lost. B SACKs
// the third; RACK gives the second a reordering window (a quarter of
// the minimum RTT, plus TCP_TIMEOUT_MIN) before it calls it lost:
// tcp_rack_mark_lost arms the connection's retransmit timer as
// ICSK_TIME_REO_TIMEOUT (there is no separate RACK timer in 6.12), and
// no later ACK comes. When it fires, tcp_write_timer_handler runs
// tcp_rack_reo_timeout, which marks the segment lost, enters recovery
// and retransmits it, then arms the RTO again.
func TestRackReoTimer(t *testing.T) {
	r, tr, lostSeq := lossOf(t, 1)
	if got := len(r.Received("B", "server")); got != 3*1448 {
		t.Fatalf("B received %d bytes", got)
	}
	armed := 0
	for _, c := range calls(tr, "A", "inet_csk_reset_xmit_timer") {
		if strings.HasPrefix(tr.Events[c].Note, "ICSK_TIME_REO_TIMEOUT") {
			armed++
			if parentFn(tr, c) != "tcp_rack_mark_lost" {
				t.Errorf("REO timer armed from %s", parentFn(tr, c))
			}
		}
	}
	if armed == 0 {
		t.Fatal("the REO timer was never armed")
	}
	fired := calls(tr, "A", "tcp_rack_reo_timeout")
	if len(fired) == 0 {
		t.Fatal("the REO timer never fired")
	}
	for _, c := range fired {
		if parentFn(tr, c) != "tcp_write_timer_handler" || tr.Events[c].Ctx != "timer:tcp_write_timer" {
			t.Errorf("tcp_rack_reo_timeout from %s in %s", parentFn(tr, c), tr.Events[c].Ctx)
		}
	}
	rtx := calls(tr, "A", "__tcp_retransmit_skb")
	if len(rtx) == 0 || !inside(tr, rtx[0], fired[0]) {
		t.Fatal("the first retransmission is not the REO timer's")
	}
	var again segment
	for _, s := range segments(tr) {
		if s.from == "A" && s.t >= tr.Events[rtx[0]].T && s.dlen > 0 {
			again = s
			break
		}
	}
	if again.seq != lostSeq {
		t.Errorf("retransmitted seq %d, lost %d", again.seq, lostSeq)
	}
	if len(calls(tr, "A", "tcp_retransmit_timer")) != 0 {
		t.Error("the RTO fired")
	}
}
