package sched_test

import (
	"strings"
	"testing"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

func newTbf(t *testing.T, rate int64, burst, limit int) (*qrig, *sched.Tbf) {
	var q *sched.Tbf
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc {
		var err error
		if q, err = sched.NewTbf(k, dev, rate, burst, limit); err != nil {
			t.Fatal(err)
		}
		return q
	})
	return r, q
}

// TestTbfShapesToRate: a full bucket lets a burst's worth through at once;
// then each packet leaves when the tokens pay for it, one every
// len×8/rate, woken by the watchdog hrtimer through NET_TX.
func TestTbfShapesToRate(t *testing.T) {
	const n = 1042 // 8.336 ms at 1 Mbit/s
	r, q := newTbf(t, 1_000_000, 2*n, 100_000)
	r.K.RunOn(0, 0, task, func() {
		for range 5 {
			core.DevQueueXmit(r.K, r.Dev, r.udp(n, 1))
		}
	})
	r.Sim.Run(200_000_000)
	tr := r.Sim.Trace()
	// when tbf handed each skb out
	out := events(tr, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "tbf_dequeue" && e.Ret == "skb" })
	if len(out) != 5 {
		t.Fatalf("%d skbs left tbf, want 5", len(out))
	}
	if out[1].T > 1_000_000 {
		t.Errorf("the second skb of the burst left at %d ns: the bucket should have paid for it", out[1].T)
	}
	cost := sched.PschedL2tNs(1_000_000, n)
	for i := 2; i < 5; i++ {
		gap := out[i].T - out[i-1].T
		if d := gap - cost; d < -100_000 || d > 100_000 {
			t.Errorf("skb %d left %.3f ms after the previous, want %.3f", i, float64(gap)/1e6, float64(cost)/1e6)
		}
	}
	if q.Overlimits < 3 || q.WatchdogFired() != 3 {
		t.Errorf("overlimits %d, watchdog fired %d times (want 3)", q.Overlimits, q.WatchdogFired())
	}
	wd := events(tr, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "qdisc_watchdog" })
	if len(wd) != 3 {
		t.Fatalf("%d qdisc_watchdog calls", len(wd))
	}
	for _, e := range wd {
		if !strings.HasPrefix(e.Ctx, "hardirq") {
			t.Errorf("qdisc_watchdog ran in %s, want hard interrupt context", e.Ctx)
		}
		if in := stackAt(tr, e); has(in, "net_tx_action") {
			t.Errorf("watchdog inside NET_TX: %v", in)
		}
	}
	// each wake-up leads to NET_TX running the qdisc
	for _, e := range wd {
		found := false
		for _, f := range tr.Events[e.Seq:] {
			if f.Kind == trace.Call && f.Fn == "net_tx_action" {
				found = true
				break
			}
		}
		if !found {
			t.Error("no net_tx_action after qdisc_watchdog")
		}
	}
	if q.QLen != 0 || q.Backlog != 0 || q.Sent != 5 {
		t.Errorf("after the run: qlen %d backlog %d sent %d", q.QLen, q.Backlog, q.Sent)
	}
}

// TestTbfLimitAndMaxSize: the inner bfifo drops past the byte limit, and
// tbf_enqueue itself drops a packet bigger than the bucket.
func TestTbfLimitAndMaxSize(t *testing.T) {
	r, q := newTbf(t, 1_000_000, 1500, 3000)
	got := r.enqueueAll(q, 1042, 1042, 1042, 1600)
	want := []core.NetXmit{core.NetXmitSuccess, core.NetXmitSuccess, core.NetXmitDrop, core.NetXmitDrop}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("enqueue results %v, want %v", got, want)
		}
	}
	tr := r.Sim.Trace()
	drops := events(tr, func(e *trace.Event) bool { return e.Kind == trace.Drop })
	if len(drops) != 2 {
		t.Fatalf("%d drops", len(drops))
	}
	for i, inner := range []bool{true, false} {
		if drops[i].Reason != string(skb.QdiscDrop) {
			t.Errorf("drop %d reason %s", i, drops[i].Reason)
		}
		if in := stackAt(tr, drops[i]); has(in, "bfifo_enqueue") != inner {
			t.Errorf("drop %d: stack %v", i, in)
		}
	}
	if q.Dropped != 2 || q.QLen != 2 || q.MaxSize < 1499 || q.MaxSize > 1500 {
		t.Errorf("dropped %d qlen %d max_size %d", q.Dropped, q.QLen, q.MaxSize)
	}
}

// TestTbfLimitFromLatency: tc's latency → limit arithmetic.
func TestTbfLimitFromLatency(t *testing.T) {
	if l := sched.TbfLimit(1_000_000, 3000, 50_000_000); l != 9250 {
		t.Errorf("limit %d, want 9250", l)
	}
}
