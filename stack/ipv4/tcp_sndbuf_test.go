package ipv4_test

import (
	"strings"
	"testing"

	"skbscope/scenario"
)

// bulk is a client that writes size bytes at once and closes, and a
// server that reads until end of file, over a 100 Mbit/s link.
func bulk(t *testing.T, size int, untilNs int64) *scenario.File {
	f := world(t, untilNs,
		[]scenario.Program{client(scenario.Step{Op: "send", Sock: "s", Size: size}, scenario.Step{Op: "close", Sock: "s"})},
		[]scenario.Program{server(scenario.Step{Op: "drain", Sock: "c", Size: 65536}, scenario.Step{Op: "close", Sock: "c"})})
	f.Links[0].RateBps, f.Links[0].DelayNs = 100_000_000, 200_000
	return f
}

// TestSendmsgWaitForSpace: a write larger than the send buffer. Before
// it sleeps in sk_stream_wait_memory, tcp_sendmsg_locked pushes what it
// queued with PSH and TCP_NAGLE_PUSH (its wait_for_space label). The
// writer is woken by ACKs through tcp_data_snd_check → tcp_check_space
// → tcp_new_space → sk_stream_write_space, which is also where the send
// buffer grows (tcp_sndbuf_expand), never from tcp_cong_avoid.
func TestSendmsgWaitForSpace(t *testing.T) {
	const size = 400_000
	r, tr := run(t, bulk(t, size, 2_000_000_000))
	if got := r.Received("B", "server"); len(got) != size {
		t.Fatalf("B received %d bytes, want %d", len(got), size)
	}
	callsFrom(t, tr, "A", "sk_stream_wait_memory", "tcp_sendmsg_locked", "the writer never waited for memory")
	pushed := 0
	for _, p := range calls(tr, "A", "tcp_push") {
		if nextSibling(tr, p) >= 0 && tr.Events[nextSibling(tr, p)].Fn == "sk_stream_wait_memory" {
			pushed++
			if !strings.Contains(tr.Events[p].Note, "TCP_NAGLE_PUSH") {
				t.Errorf("the push before the wait: %q", tr.Events[p].Note)
			}
		}
	}
	if pushed == 0 {
		t.Error("no tcp_push right before sk_stream_wait_memory")
	}
	woken := 0
	for _, c := range calls(tr, "A", "tcp_check_space") {
		switch p, ctx := parentFn(tr, c), tr.Events[c].Ctx; {
		case p == "tcp_data_snd_check" && ctx == "softirq:NET_RX":
		case p == "tcp_event_new_data_sent":
		default:
			t.Errorf("tcp_check_space called from %s in %s", p, ctx)
		}
		for _, w := range calls(tr, "A", "sk_stream_write_space") {
			if inside(tr, w, c) && strings.Contains(tr.Events[w].Note, "writeable,") {
				woken++
			}
		}
	}
	if woken == 0 {
		t.Error("sk_stream_write_space never found the socket writeable")
	}
	grown := 0
	for _, x := range calls(tr, "A", "tcp_sndbuf_expand") {
		switch parentFn(tr, x) {
		case "tcp_new_space":
			if strings.Contains(tr.Events[x].Note, "→") {
				grown++
			}
		case "tcp_init_buffer_space":
		default:
			t.Errorf("tcp_sndbuf_expand called from %s", parentFn(tr, x))
		}
	}
	if grown == 0 {
		t.Error("the send buffer never grew in tcp_new_space")
	}
}

// TestSendmsgPushOne: a write of several size_goals. As soon as the skb
// at the head of the write queue is full and more bytes are left to
// copy, tcp_sendmsg_locked sends it (tcp_push_one, one skb, no TSO
// deferral) instead of waiting for the end of the write.
func TestSendmsgPushOne(t *testing.T) {
	_, tr := run(t, bulk(t, 200_000, 1_000_000_000))
	po := calls(tr, "A", "tcp_push_one")
	if len(po) == 0 {
		t.Fatal("no tcp_push_one")
	}
	sm := calls(tr, "A", "tcp_sendmsg_locked")
	if len(sm) == 0 || !inside(tr, po[0], sm[0]) {
		t.Fatal("tcp_push_one is not in the first tcp_sendmsg_locked")
	}
	sent := false
	for _, x := range calls(tr, "A", "__tcp_transmit_skb") {
		sent = sent || inside(tr, x, po[0])
	}
	if !sent {
		t.Error("tcp_push_one sent nothing")
	}
	for _, p := range calls(tr, "A", "tcp_push") {
		if inside(tr, p, sm[0]) && p < po[0] {
			t.Error("tcp_push ran before the first full skb was pushed")
		}
	}
}
