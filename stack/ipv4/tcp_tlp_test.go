package ipv4_test

import (
	"strings"
	"testing"

	"skbscope/scenario"
	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// lossOf finds a run in which, of a three-segment write, exactly the
// data segment with index which (0, 1 or 2) is lost on the wire, and
// nothing else: the link loses a quarter of all frames, and the RNG
// seeds are tried in order until one loses just that (the search is
// deterministic).
func lossOf(t *testing.T, which int) (*scenario.Runner, *trace.Trace, uint32) {
	t.Helper()
	for seed := uint64(1); seed <= 3000; seed++ {
		f := world(t, 1_000_000_000,
			[]scenario.Program{client(scenario.Step{Op: "send", Sock: "s", Size: 3 * 1448},
				scenario.Step{Op: "sleep", Ns: 300_000_000}, scenario.Step{Op: "close", Sock: "s"})},
			[]scenario.Program{server(scenario.Step{Op: "drain", Sock: "c", Size: 65536}, scenario.Step{Op: "close", Sock: "c"})})
		f.RNGSeed = seed
		f.Links[0].RateBps, f.Links[0].DelayNs, f.Links[0].LossPct = 100_000_000, 200_000, 25
		r, tr := run(t, f)
		var lost []header.TCP
		for _, e := range tr.Events {
			if e.Kind == trace.Drop && e.Reason == "wire loss" {
				ip := header.IPv4(e.Frame[14:])
				lost = append(lost, header.TCP(e.Frame[14+ip.IHL():14+ip.TotalLen()]))
			}
		}
		if len(lost) != 1 || len(lost[0])-lost[0].DataOff() != 1448 {
			continue
		}
		var data []segment
		for _, s := range segments(tr) {
			if s.from == "A" && s.dlen > 0 {
				data = append(data, s)
			}
		}
		if len(data) >= 3 && data[which].seq == lost[0].Seq() && data[1].seq+1448 == data[2].seq {
			return r, tr, lost[0].Seq()
		}
	}
	t.Fatalf("no seed loses just data segment %d", which)
	return nil, nil, 0
}

// TestTailLossProbe: the last segment of a write is lost. After the
// data went out, tcp_write_xmit armed a loss probe
// (tcp_schedule_loss_probe: ICSK_TIME_LOSS_PROBE, two RTTs plus 2 ms,
// capped by the RTO); it fires before the RTO would, and
// tcp_send_loss_probe sends the last segment again, which repairs the
// loss without the RTO's cost (no TCP_CA_Loss, no cwnd of 1, no
// backoff): the RTO never fires, and when an ACK passes tlp_high_seq,
// tcp_process_tlp_ack reduces cwnd once (CWR), as for any loss.
func TestTailLossProbe(t *testing.T) {
	r, tr, lostSeq := lossOf(t, 2)
	if got := len(r.Received("B", "server")); got != 3*1448 {
		t.Fatalf("B received %d bytes", got)
	}
	lp := calls(tr, "A", "tcp_send_loss_probe")
	if len(lp) == 0 {
		t.Fatal("no loss probe")
	}
	probe := lp[0]
	if ctx := tr.Events[probe].Ctx; ctx != "timer:tcp_write_timer" || parentFn(tr, probe) != "tcp_write_timer_handler" {
		t.Errorf("tcp_send_loss_probe in %s, from %s", ctx, parentFn(tr, probe))
	}
	if !strings.Contains(tr.Events[probe].Note, "the last segment again") {
		t.Errorf("the probe: %s", tr.Events[probe].Note)
	}
	rtx := calls(tr, "A", "__tcp_retransmit_skb")
	if len(rtx) == 0 || !inside(tr, rtx[0], probe) {
		t.Fatal("the probe is not a retransmission from tcp_send_loss_probe")
	}
	// The probe is the last segment: its end is snd_nxt.
	var lastData, probeSeg segment
	for _, s := range segments(tr) {
		if s.from != "A" || s.dlen == 0 {
			continue
		}
		if s.t < tr.Events[probe].T {
			lastData = s
		} else if probeSeg.t == 0 {
			probeSeg = s
		}
	}
	if probeSeg.seq != lastData.seq || probeSeg.dlen != lastData.dlen || probeSeg.seq != lostSeq {
		t.Errorf("the probe is seq %d len %d, the last segment seq %d len %d", probeSeg.seq, probeSeg.dlen, lastData.seq, lastData.dlen)
	}
	// With one segment out the probe waits for a delayed ACK too (2 srtt
	// + rto_min), which the RTO (srtt + 4 rttvar, at least 200 ms) caps.
	if wait := tr.Events[probe].T - lastData.t; wait < 200_000_000 || wait > 210_000_000 {
		t.Errorf("the probe came %d ns after the data, want about 200 ms", wait)
	}
	if n := len(calls(tr, "A", "tcp_retransmit_timer")) + len(calls(tr, "A", "tcp_enter_loss")); n != 0 {
		t.Errorf("the RTO fired (%d calls)", n)
	}
	sched := calls(tr, "A", "tcp_schedule_loss_probe")
	if len(sched) == 0 || tr.Events[sched[0]].T > tr.Events[probe].T {
		t.Error("no tcp_schedule_loss_probe before the probe")
	}
	pa := calls(tr, "A", "tcp_process_tlp_ack")
	found := false
	for _, c := range pa {
		if strings.Contains(tr.Events[c].Note, "repaired a loss") {
			found = true
			if ic := calls(tr, "A", "tcp_init_cwnd_reduction"); len(ic) == 0 || !inside(tr, ic[0], c) {
				t.Error("tcp_process_tlp_ack did not start a cwnd reduction")
			}
		}
	}
	if !found {
		t.Errorf("tcp_process_tlp_ack %v: the repaired loss was not noticed", pa)
	}
	for _, s := range segments(tr) {
		if s.from == "A" && s.flags&header.TCPRst != 0 {
			t.Error("A reset the connection")
		}
	}
}
