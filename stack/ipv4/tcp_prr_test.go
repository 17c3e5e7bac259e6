package ipv4_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestPRR: in the tcp-loss lesson, fast recovery lowers cwnd with
// Proportional Rate Reduction: tcp_enter_recovery → tcp_init_cwnd_reduction
// sets ssthresh and leaves cwnd; each ACK in recovery calls
// tcp_cwnd_reduction, which sets cwnd to what is in flight plus what PRR
// allows (at least one segment on the first call, for the fast
// retransmit); cwnd comes down step by step, not at once; when high_seq
// is acknowledged tcp_end_cwnd_reduction sets cwnd to ssthresh.
func TestPRR(t *testing.T) {
	_, tr := run(t, mustLoad(t, "tcp-loss"))
	rec := calls(tr, "A", "tcp_enter_recovery")
	if len(rec) == 0 {
		t.Fatal("no fast recovery")
	}
	ic := calls(tr, "A", "tcp_init_cwnd_reduction")
	if len(ic) == 0 || !inside(tr, ic[0], rec[0]) {
		t.Fatal("tcp_enter_recovery did not call tcp_init_cwnd_reduction")
	}
	var ssthresh, cwnd int
	if _, err := fmt.Sscanf(tr.Events[ic[0]].Note[strings.Index(tr.Events[ic[0]].Note, "ssthresh"):], "ssthresh %d; cwnd %d", &ssthresh, &cwnd); err != nil {
		t.Fatalf("%q: %v", tr.Events[ic[0]].Note, err)
	}
	if ssthresh >= cwnd {
		t.Fatalf("ssthresh %d, cwnd %d: nothing to reduce", ssthresh, cwnd)
	}
	steps, first := 0, true
	end := calls(tr, "A", "tcp_end_cwnd_reduction")
	if len(end) == 0 {
		t.Fatal("recovery never ended")
	}
	for _, c := range calls(tr, "A", "tcp_cwnd_reduction") {
		if c < rec[0] || c > end[0] {
			continue
		}
		var d, pd, po, fl, th, from, to int
		n := tr.Events[c].Note
		if _, err := fmt.Sscanf(n, "%d delivered (prr_delivered %d, prr_out %d), %d in flight, ssthresh %d: cwnd %d → %d", &d, &pd, &po, &fl, &th, &from, &to); err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		if first && (po != 0 || to < fl+1) {
			t.Errorf("first PRR step %q: want room for the fast retransmit", n)
		}
		first = false
		if to < fl {
			t.Errorf("%q: cwnd below what is in flight", n)
		}
		if to != from {
			steps++
		}
	}
	if steps < 2 {
		t.Errorf("cwnd changed in %d PRR steps: not a gradual reduction", steps)
	}
	var want int
	n := tr.Events[end[0]].Note
	if _, err := fmt.Sscanf(n, "cwnd = ssthresh %d", &want); err != nil || want != ssthresh {
		t.Errorf("tcp_end_cwnd_reduction: %q, want ssthresh %d", n, ssthresh)
	}
}
