package sched_test

import (
	"testing"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

func newFq(perturb uint32) (*qrig, *sched.FqCodel) {
	var q *sched.FqCodel
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc { q = sched.NewFqCodel(dev, perturb); return q })
	return r, q
}

// TestFqCodelSparseFlowFirst: a sparse flow's packet, queued behind 20
// bulk packets, leaves third: the bulk flow spends its quantum (1514
// bytes: two 1042-byte packets) and goes to old_flows, and the sparse
// flow is served from new_flows.
func TestFqCodelSparseFlowFirst(t *testing.T) {
	r, q := newFq(7)
	var sparse int
	r.K.RunOn(0, 0, task, func() {
		for range 20 {
			q.Enqueue(r.K, r.udp(1042, 1000))
		}
		s := r.udp(1042, 2000)
		sparse = s.ID
		if a, b := q.FlowOf(r.udp(100, 1000)), q.FlowOf(s); a == b {
			t.Fatalf("both flows hash to %d", a)
		}
		q.Enqueue(r.K, s)
		sched.Runner{}.QdiscRun(r.K, q, r.Dev)
	})
	r.Sim.Run(10_000_000)
	deq := events(r.Sim.Trace(), func(e *trace.Event) bool {
		return e.Kind == trace.Ret && e.Fn == "fq_codel_dequeue" && e.Ret == "skb"
	})
	if len(deq) != 21 {
		t.Fatalf("%d dequeues", len(deq))
	}
	pos := -1
	for i, e := range deq {
		if e.Skb[0] == sparse {
			pos = i
		}
	}
	if pos != 2 {
		t.Errorf("the sparse packet left at position %d, want 2", pos)
	}
	if v := val(deq[20], "new_flow_count"); v != "2" {
		t.Errorf("new_flow_count %s, want 2", v)
	}
}

// TestFqCodelDropFattest: over the packet limit, fq_codel_drop takes half
// the fattest flow's bytes from its head (QDISC_DROP); the enqueue says
// NET_XMIT_CN only when that flow is the packet's own.
func TestFqCodelDropFattest(t *testing.T) {
	r, q := newFq(7)
	q.Limit = 10
	var got []core.NetXmit
	r.K.RunOn(0, 0, task, func() {
		for range 11 {
			got = append(got, q.Enqueue(r.K, r.udp(1042, 1000)))
		}
		for range 5 {
			q.Enqueue(r.K, r.udp(1042, 1000))
		}
		got = append(got, q.Enqueue(r.K, r.udp(1042, 2000)))
	})
	r.Sim.Run(1_000_000)
	if got[9] != core.NetXmitSuccess || got[10] != core.NetXmitCN || got[11] != core.NetXmitSuccess {
		t.Errorf("enqueue results %v: want CN for the 11th bulk packet, SUCCESS for the sparse one", got)
	}
	// 11 × 1042 → drop 6 (≥ half); then 10 bulk → drop 5.
	if q.Dropped != 11 || q.QLen != 6 {
		t.Errorf("dropped %d qlen %d, want 11 and 6", q.Dropped, q.QLen)
	}
	tr := r.Sim.Trace()
	for _, e := range events(tr, func(e *trace.Event) bool { return e.Kind == trace.Drop }) {
		if e.Reason != string(skb.QdiscDrop) || !has(stackAt(tr, e), "fq_codel_drop") {
			t.Fatalf("drop %s in %v", e.Reason, stackAt(tr, e))
		}
	}
}
