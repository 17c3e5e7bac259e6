package scenario

import (
	"testing"

	"skbscope/stack/trace"
)

func TestKnobs(t *testing.T) {
	base := runLesson(t, "udp-sendto")
	slow, err := RunWith("udp-sendto", Knobs{RateBps: 10_000_000, DelayNs: 50_000})
	if err != nil {
		t.Fatal(err)
	}
	arrive := func(tr *trace.Trace) int64 {
		for _, e := range tr.Events {
			if e.Host == "B" && e.Kind == trace.Enqueue && e.Queue == "eth0 rx_ring" {
				return e.T
			}
		}
		return -1
	}
	if a, b := arrive(base), arrive(slow); a < 0 || b-a < 50_000 {
		t.Errorf("a slower, longer link did not delay the frame: %d → %d", a, b)
	}
	lossy, err := RunWith("udp-sendto", Knobs{LossPct: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lossy.Events {
		if e.Host == "B" && e.Kind == trace.Enqueue && e.Queue == "eth0 rx_ring" {
			t.Fatal("a frame crossed a link that loses everything")
		}
	}
	// The lesson itself is untouched by RunWith.
	if f, _ := Load("udp-sendto"); f.Links[0].LossPct != 0 {
		t.Fatal("knobs changed the embedded lesson")
	}
	for _, bad := range []Knobs{{MTU: 10}, {RateBps: 1}, {LossPct: 101}, {SndBuf: 1}, {DelayNs: -1}, {TxQueueLen: -1}} {
		if _, err := RunWith("udp-sendto", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestSetsockopt: SO_SNDBUF is capped at wmem_max and doubled; SO_PRIORITY
// above 6 needs CAP_NET_ADMIN.
func TestSetsockopt(t *testing.T) {
	f, _ := Load("udp-sendto")
	steps := f.Hosts[0].Programs[0].Steps
	f.Hosts[0].Programs[0].Steps = append([]Step{steps[0],
		{Op: "setsockopt", Sock: "s", Opt: "SO_SNDBUF", Value: 1 << 20},
		{Op: "setsockopt", Sock: "s", Opt: "SO_PRIORITY", Value: 7},
		{Op: "setsockopt", Sock: "s", Opt: "SO_PRIORITY", Value: 6}}, steps[1:]...)
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	var rets []string
	for i, e := range tr.Events {
		if e.Kind == trace.Call && e.Fn == "sk_setsockopt" {
			rets = append(rets, retOf(tr, i).Ret+" "+e.Note)
		}
	}
	want := []string{"0 SO_SNDBUF 1048576: min(val, wmem_max 212992) doubled = sk_sndbuf 425984", "-EPERM ", "0 sk_priority 6"}
	if len(rets) != 3 || rets[0] != want[0] || rets[1] != want[1] || rets[2] != want[2] {
		t.Fatalf("setsockopt results %q", rets)
	}
	// Priority 6 (TC_PRIO_INTERACTIVE) is pfifo_fast band 0.
	for _, e := range tr.Events {
		if e.Kind == trace.Call && e.Fn == "e1000_xmit_frame" && e.Host == "A" {
			if s := tr.SnapOf(e.Seq, e.Skb[0]); s == nil || s.Priority != 6 {
				t.Errorf("the datagram's priority is %v", s)
			}
		}
	}
}

// TestRunnerInSlices: running in small slices gives the same trace as one
// go, and progress only grows.
func TestRunnerInSlices(t *testing.T) {
	f, _ := Load("arp")
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	last := -1.0
	for !r.Step(7) {
		if p := r.Progress(); p < last || p > 1 {
			t.Fatalf("progress %v after %v", p, last)
		} else {
			last = p
		}
	}
	if r.Progress() != 1 {
		t.Error("a finished run is not at 100%")
	}
	a, b := jsonOf(t, r.Trace()), jsonOf(t, runLesson(t, "arp"))
	if string(a) != string(b) {
		t.Fatal("sliced and whole runs differ")
	}
}
