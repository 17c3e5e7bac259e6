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
		if q, err = sched.NewTbf(k, dev, sched.TbfParams{RateBps: rate, Burst: burst, Limit: limit}); err != nil {
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
	if q.Dropped != 2 || q.QLen != 2 || q.MaxSize != 1500 {
		t.Errorf("dropped %d qlen %d max_size %d", q.Dropped, q.QLen, q.MaxSize)
	}
}

// TestTbfLimitFromLatency: tc's latency → limit arithmetic.
func TestTbfLimitFromLatency(t *testing.T) {
	if l := sched.TbfLimit(sched.TbfParams{RateBps: 1_000_000, Burst: 3000}, 50_000_000); l != 9250 {
		t.Errorf("limit %d, want 9250", l)
	}
	// with a peakrate, tc takes the smaller of the two: 10 Mbit/s for
	// 50 ms is 62500 bytes + mtu 1514, more than 9250
	if l := sched.TbfLimit(sched.TbfParams{RateBps: 1_000_000, Burst: 3000, PeakBps: 10_000_000, Mtu: 1514}, 50_000_000); l != 9250 {
		t.Errorf("limit %d, want 9250", l)
	}
	// and a peak bucket below the rate's: 1.1 Mbit/s for 1 ms is 137.5 + 1514
	if l := sched.TbfLimit(sched.TbfParams{RateBps: 1_000_000, Burst: 30000, PeakBps: 1_100_000, Mtu: 1514}, 1_000_000); l != 1651 {
		t.Errorf("limit %d, want 1651", l)
	}
}

// TestTbfPeakrateSpacing: with a bucket big enough for the whole burst
// at rate, the peak bucket (mtu 1514 bytes at 10 Mbit/s) still spaces
// the packets: after the first, each leaves one peak cost (len × 8 /
// peakrate) after the previous, not at once and not at rate's pace; the
// watchdog is set for the peak bucket, the poorer of the two.
func TestTbfPeakrateSpacing(t *testing.T) {
	const n = 1042
	var q *sched.Tbf
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc {
		var err error
		q, err = sched.NewTbf(k, dev, sched.TbfParams{RateBps: 1_000_000, Burst: 100_000, Limit: 100_000, PeakBps: 10_000_000, Mtu: 1514})
		if err != nil {
			t.Fatal(err)
		}
		return q
	})
	r.K.RunOn(0, 0, task, func() {
		for range 5 {
			core.DevQueueXmit(r.K, r.Dev, r.udp(n, 1))
		}
	})
	r.Sim.Run(200_000_000)
	tr := r.Sim.Trace()
	out := events(tr, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "tbf_dequeue" && e.Ret == "skb" })
	if len(out) != 5 {
		t.Fatalf("%d skbs left tbf, want 5", len(out))
	}
	pcost := sched.PschedL2tNs(10_000_000, n) // 0.8336 ms
	// the first takes 1042 of the peak bucket's 1514 bytes; the second
	// waits for the other 570 bytes' worth, the rest a whole cost each
	first := sched.PschedL2tNs(10_000_000, 2*n-1514)
	for i := 1; i < 5; i++ {
		want := pcost
		if i == 1 {
			want = first
		}
		gap := out[i].T - out[i-1].T
		if d := gap - want; d < -50_000 || d > 50_000 {
			t.Errorf("skb %d left %.3f ms after the previous, want %.3f (peakrate)", i, float64(gap)/1e6, float64(want)/1e6)
		}
	}
	if q.WatchdogFired() != 4 {
		t.Errorf("watchdog fired %d times, want 4", q.WatchdogFired())
	}
	nulls := events(tr, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "tbf_dequeue" && e.Ret == "NULL" })
	peakWaits := 0
	for _, e := range nulls {
		if strings.HasPrefix(e.Note, "out of peak tokens") {
			peakWaits++
		}
	}
	if peakWaits != 4 || q.Overlimits != 4 {
		t.Errorf("%d waits on the peak bucket, overlimits %d; want 4 and 4", peakWaits, q.Overlimits)
	}
}

// TestTbfPeakrateParams: tbf_change refuses a peakrate not above the
// rate, and max_size becomes the mtu when that is below the burst, so a
// bigger packet is dropped at enqueue.
func TestTbfPeakrateParams(t *testing.T) {
	var q *sched.Tbf
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc {
		if _, err := sched.NewTbf(k, dev, sched.TbfParams{RateBps: 1_000_000, Burst: 3000, Limit: 10000, PeakBps: 1_000_000, Mtu: 1514}); err == nil {
			t.Error("peakrate = rate accepted")
		}
		var err error
		if q, err = sched.NewTbf(k, dev, sched.TbfParams{RateBps: 1_000_000, Burst: 3000, Limit: 10000, PeakBps: 2_000_000, Mtu: 1514}); err != nil {
			t.Fatal(err)
		}
		return q
	})
	if q.MaxSize != 1514 {
		t.Errorf("max_size %d, want the mtu 1514", q.MaxSize)
	}
	got := r.enqueueAll(q, 1514, 1515)
	if got[0] != core.NetXmitSuccess || got[1] != core.NetXmitDrop {
		t.Errorf("enqueue of 1514 and 1515 bytes: %v", got)
	}
}
