package sched

import (
	"testing"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// TestCodelDropOnset: 200 packets queued at t=0 and dequeued one every
// 2 ms. The sojourn passes target at 6 ms, so CoDel may drop after
// 106 ms: the first drop is at the 108 ms dequeue, the next one interval
// later (208 ms). The third follows interval × rec_inv_sqrt, and the
// kernel refines 1/√count by one Newton step per drop, starting from
// 1.0: for count 2 that gives 0.5, not 0.707, so 50 ms later (258 ms).
// Drops go through drop_func with 6.12's reason.
func TestCodelDropOnset(t *testing.T) {
	sim := kernel.NewSim(1)
	k := sim.NewKernel("A", 1)
	net := core.NewNet(k, Runner{})
	dev := &core.Device{Name: "eth0", MTU: 1500, TxQueueLen: 1000}
	net.AddDevice(dev)
	q := NewFqCodel(dev)
	ctx := kernel.Context{Kind: kernel.CtxSoftirq, Name: "NET_TX"}
	k.RunOn(0, 0, ctx, func() {
		for range 200 {
			s := core.AllocSkb(k, 1100)
			_, _ = s.PutBytes(1000)
			q.Enqueue(k, s)
		}
	})
	for i := int64(1); i <= 150; i++ {
		k.RunOn(i*2_000_000, 0, ctx, func() {
			if s := q.dequeue(k); s != nil {
				core.ConsumeSkb(k, s)
			}
		})
	}
	sim.Run(400_000_000)
	var at []int64
	for _, e := range sim.Trace().Events {
		if e.Kind == trace.Drop {
			if e.Reason != string(skb.NotSpecified) {
				t.Fatalf("CoDel drop with reason %s", e.Reason)
			}
			at = append(at, e.T/1_000_000)
		}
	}
	if len(at) < 3 {
		t.Fatalf("drops at %v ms", at)
	}
	if at[0] != 108 || at[1] < 206 || at[1] > 210 || at[2] < 256 || at[2] > 260 {
		t.Errorf("drops at %v ms, want 108, ~208, ~258", at[:3])
	}
	if q.CodelDrops != len(at) || q.Dropped != len(at) {
		t.Errorf("codel drops %d, dropped %d, trace %d", q.CodelDrops, q.Dropped, len(at))
	}
}

// TestCodelControlLaw: interval/√count in the kernel's fixed point.
func TestCodelControlLaw(t *testing.T) {
	v := codelVars{count: 1, recInvSqrt: ^uint16(0)}
	interval := ms2time(100)
	if d := codelControlLaw(0, interval, v.recInvSqrt); d < interval-2 || d > interval {
		t.Errorf("count 1: %d, want ~%d", d, interval)
	}
	for v.count < 4 {
		v.count++
		codelNewtonStep(&v)
	}
	// 1/√4 = 0.5, within the Newton step's error
	if d := codelControlLaw(0, interval, v.recInvSqrt); d < interval*45/100 || d > interval*55/100 {
		t.Errorf("count 4: %d, want ~%d", d, interval/2)
	}
}
