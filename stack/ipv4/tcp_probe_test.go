package ipv4_test

import (
	"strings"
	"testing"

	"skbscope/scenario"
	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// zeroWindow: A writes size bytes to B, whose server accepts and then
// does not read for sleepNs before it drains.
func zeroWindow(t *testing.T, size int, sleepNs int64) *scenario.File {
	f := world(t, sleepNs+2_000_000_000,
		[]scenario.Program{client(scenario.Step{Op: "send", Sock: "s", Size: size}, scenario.Step{Op: "close", Sock: "s"})},
		[]scenario.Program{server(scenario.Step{Op: "sleep", Ns: sleepNs},
			scenario.Step{Op: "drain", Sock: "c", Size: 65536}, scenario.Step{Op: "close", Sock: "c"})})
	f.Links[0].RateBps, f.Links[0].DelayNs = 100_000_000, 200_000
	return f
}

// TestZeroWindowProbe: B does not read, so its window closes (the
// offered window never shrinks: its right edge stays while data fills
// it; first to less than a segment, which the first probe fills:
// tcp_write_wakeup sends what fits). With data waiting and nothing in
// flight, A's
// __tcp_push_pending_frames arms the probe timer (tcp_check_probe_timer,
// ICSK_TIME_PROBE0); tcp_write_timer_handler → tcp_probe_timer →
// tcp_send_probe0 → tcp_write_wakeup → tcp_xmit_probe_skb sends an ACK
// with seq snd_una - 1, which B answers (tcp_validate_incoming:
// TCP_OLD_SEQUENCE, tcp_send_dupack) with its zero window, at most once
// per 500 ms; the probes come at RTO, then twice, four times that. When B
// reads, tcp_cleanup_rbuf sends a window update, and the transfer ends
// with every byte delivered.
func TestZeroWindowProbe(t *testing.T) {
	const size = 400_000
	r, tr := run(t, zeroWindow(t, size, 3_500_000_000))
	if got := len(r.Received("B", "server")); got != size {
		t.Fatalf("B received %d bytes, want %d", got, size)
	}
	segs := segments(tr)
	zeroAt := int64(-1)
	for _, s := range segs {
		if s.from == "B" && s.win == 0 && s.flags&header.TCPSyn == 0 {
			zeroAt = s.t
			break
		}
	}
	if zeroAt < 0 {
		t.Fatal("B never advertised a zero window")
	}
	cp := calls(tr, "A", "tcp_check_probe_timer")
	if len(cp) == 0 || parentFn(tr, cp[0]) != "__tcp_push_pending_frames" {
		t.Fatalf("tcp_check_probe_timer %v", cp)
	}
	var probes []segment
	for _, s := range segs {
		if s.from == "A" && s.flags == header.TCPAck && s.dlen == 0 && s.t > zeroAt && s.seq+1 == lastAckFromB(segs, s.t) {
			probes = append(probes, s)
		}
	}
	if len(probes) < 3 {
		t.Fatalf("%d probes, want at least 3", len(probes))
	}
	for i := 2; i < len(probes); i++ {
		a, b := probes[i-1].t-probes[i-2].t, probes[i].t-probes[i-1].t
		if b < 2*a-10_000_000 || b > 2*a+10_000_000 {
			t.Errorf("probe intervals %d then %d ns: not doubling", a, b)
		}
	}
	for _, c := range calls(tr, "A", "tcp_xmit_probe_skb") {
		want := []string{"tcp_write_wakeup", "tcp_send_probe0", "tcp_probe_timer", "tcp_write_timer_handler"}
		for i, up := 0, tr.Events[c].Up; i < len(want); i, up = i+1, tr.Events[up].Up {
			if up < 0 || tr.Events[up].Fn != want[i] {
				t.Fatalf("tcp_xmit_probe_skb's callers are not %v", want)
			}
		}
		if ctx := tr.Events[c].Ctx; ctx != "timer:tcp_write_timer" {
			t.Errorf("a probe in %s", ctx)
		}
	}
	dup := calls(tr, "B", "tcp_send_dupack")
	if len(dup) == 0 || parentFn(tr, dup[0]) != "tcp_validate_incoming" {
		t.Fatalf("tcp_send_dupack %v", dup)
	}
	old := 0
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_TCP_OLD_SEQUENCE" {
			old++
		}
	}
	if old != len(probes) {
		t.Errorf("%d probes, %d dropped as TCP_OLD_SEQUENCE", len(probes), old)
	}
	// Answers are rate-limited to one per 500 ms.
	var answers []int64
	for _, d := range dup {
		answers = append(answers, tr.Events[d].T)
	}
	for i := 1; i < len(answers); i++ {
		if answers[i]-answers[i-1] < 500_000_000 {
			t.Errorf("dupacks %d ns apart", answers[i]-answers[i-1])
		}
	}
	upd := 0
	for _, c := range calls(tr, "B", "tcp_cleanup_rbuf") {
		if strings.Contains(tr.Events[c].Note, "window update") {
			upd++
		}
	}
	if upd == 0 {
		t.Error("no window update when B read")
	}
}

// lastAckFromB is the ack number of B's last segment before t.
func lastAckFromB(segs []segment, t int64) uint32 {
	var ack uint32
	for _, s := range segs {
		if s.from == "B" && s.t < t {
			ack = s.ack
		}
	}
	return ack
}
