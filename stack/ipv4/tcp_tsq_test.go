package ipv4_test

import (
	"strings"
	"testing"

	"skbscope/scenario"
)

// TestTSQ: a bulk sender over a 10 Mbit/s link with a large window. TCP
// Small Queues keep only about a millisecond of its data (at least two
// skbs) below TCP: tcp_write_xmit stops (tcp_small_queue_check,
// TSQ_THROTTLED) although cwnd and the window have room, and each
// time the driver frees one of its skbs, tcp_wfree queues the socket for
// the TSQ tasklet, whose tcp_tsq_handler sends more. Every byte arrives.
func TestTSQ(t *testing.T) {
	const size = 300_000
	f := bulk(t, size, 3_000_000_000)
	f.Links[0].RateBps = 10_000_000
	r, tr := run(t, f)
	if got := len(r.Received("B", "server")); got != size {
		t.Fatalf("B received %d bytes", got)
	}
	callsFrom(t, tr, "A", "tcp_small_queue_check", "tcp_write_xmit", "TSQ never throttled the sender")
	queued := 0
	for _, c := range calls(tr, "A", "tcp_wfree") {
		if strings.Contains(tr.Events[c].Note, "TSQ tasklet") {
			queued++
		}
	}
	if queued == 0 {
		t.Error("tcp_wfree never queued the throttled socket")
	}
	sent := 0
	for _, c := range calls(tr, "A", "tcp_tsq_handler") {
		if tr.Events[c].Ctx != "softirq:TASKLET" || parentFn(tr, c) != "tcp_tasklet_func" {
			t.Fatalf("tcp_tsq_handler in %s from %s", tr.Events[c].Ctx, parentFn(tr, c))
		}
		for _, x := range calls(tr, "A", "__tcp_transmit_skb") {
			if inside(tr, x, c) {
				sent++
				break
			}
		}
	}
	if sent == 0 {
		t.Error("the TSQ tasklet never sent anything")
	}
}

// TestAutocork: with TCP_NODELAY, ten 200-byte writes in a row. The first
// goes at once; the next ones find it still in the qdisc or the driver
// (sk_wmem_alloc above the new skb's truesize): tcp_push autocorks them
// (tcp_should_autocork, TSQ_THROTTLED), so they collect in one skb,
// which the TSQ tasklet sends when the first skb's TX completion runs
// tcp_wfree: fewer, larger segments than writes.
func TestAutocork(t *testing.T) {
	steps := []scenario.Step{{Op: "setsockopt", Sock: "s", Opt: "TCP_NODELAY", Value: 1}}
	for range 10 {
		steps = append(steps, scenario.Step{Op: "send", Sock: "s", Size: 200})
	}
	steps = append(steps, scenario.Step{Op: "sleep", Ns: 10_000_000}, scenario.Step{Op: "close", Sock: "s"})
	f := world(t, 1_000_000_000, []scenario.Program{client(steps...)},
		[]scenario.Program{server(scenario.Step{Op: "drain", Sock: "c", Size: 65536}, scenario.Step{Op: "close", Sock: "c"})})
	f.Links[0].RateBps = 10_000_000
	r, tr := run(t, f)
	if got := len(r.Received("B", "server")); got != 2000 {
		t.Fatalf("B received %d bytes", got)
	}
	callsFrom(t, tr, "A", "tcp_should_autocork", "tcp_push", "no write was autocorked")
	data, big := 0, 0
	for _, s := range segments(tr) {
		if s.from == "A" && s.dlen > 0 {
			data++
			if s.dlen > 200 {
				big++
			}
		}
	}
	if data >= 10 || big == 0 {
		t.Errorf("%d data segments (%d larger than one write) for 10 writes", data, big)
	}
	pushed := false
	for _, c := range calls(tr, "A", "tcp_tsq_handler") {
		for _, x := range calls(tr, "A", "__tcp_transmit_skb") {
			pushed = pushed || inside(tr, x, c)
		}
	}
	if !pushed {
		t.Error("the corked bytes were not sent from the TSQ tasklet")
	}
}
