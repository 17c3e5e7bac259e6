package ipv4_test

import (
	"strings"
	"testing"

	"skbscope/scenario"
)

// TestCwndValidatePerWindow: tcp_cwnd_validate keeps max_packets_out per
// window of data (until snd_una passes cwnd_usage_seq), not for all time.
// After a bulk send, small writes keep one or two segments out: their
// ACKs find the window not cwnd-limited, and cwnd stays (in slow start
// it may only grow below twice what this window had out). After an idle
// spell longer than the RTO, the first write finds cwnd unused and
// tcp_cwnd_application_limited decays it halfway to the initial window.
func TestCwndValidatePerWindow(t *testing.T) {
	steps := []scenario.Step{{Op: "send", Sock: "s", Size: 150_000}, {Op: "sleep", Ns: 20_000_000}}
	for range 4 {
		steps = append(steps, scenario.Step{Op: "send", Sock: "s", Size: 100}, scenario.Step{Op: "sleep", Ns: 5_000_000})
	}
	steps = append(steps, scenario.Step{Op: "sleep", Ns: 1_000_000_000}, scenario.Step{Op: "send", Sock: "s", Size: 100},
		scenario.Step{Op: "sleep", Ns: 10_000_000}, scenario.Step{Op: "close", Sock: "s"})
	f := world(t, 3_000_000_000, []scenario.Program{client(steps...)},
		[]scenario.Program{server(scenario.Step{Op: "drain", Sock: "c", Size: 65536}, scenario.Step{Op: "close", Sock: "c"})})
	f.Links[0].RateBps, f.Links[0].DelayNs = 100_000_000, 200_000
	tr := simulate(t, f)
	// The small writes start after the bulk is acknowledged: find the
	// first send of 100 bytes.
	small := -1
	for _, c := range calls(tr, "A", "__sys_sendto") {
		if r := retOf(tr, c); r != nil && r.Ret == "100" {
			small = c
			break
		}
	}
	if small < 0 {
		t.Fatal("no small send")
	}
	grew, stayed := 0, 0
	for _, c := range calls(tr, "A", "tcp_cong_avoid") {
		if c < small {
			if strings.Contains(tr.Events[c].Note, "→") {
				grew++
			}
			continue
		}
		if strings.Contains(tr.Events[c].Note, "not cwnd-limited") {
			stayed++
		} else {
			t.Errorf("after the bulk, an ACK of a small write changed cwnd: %s", tr.Events[c].Note)
		}
	}
	if grew == 0 || stayed == 0 {
		t.Errorf("cwnd grew %d times in the bulk, stayed %d times after", grew, stayed)
	}
	al := calls(tr, "A", "tcp_cwnd_application_limited")
	if len(al) != 1 {
		t.Fatalf("%d tcp_cwnd_application_limited calls, want 1 (after the idle second)", len(al))
	}
	if tr.Events[al[0]].T < tr.Events[small].T+1_000_000_000 {
		t.Errorf("cwnd decayed at %d ns, before the idle second", tr.Events[al[0]].T)
	}
	t.Log(tr.Events[al[0]].Note)
}
