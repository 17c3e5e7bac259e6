package sched_test

import (
	"slices"
	"testing"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// kunitKey is the SipHash key of the reference test vectors (bytes 0..15).
var kunitKey = core.SiphashKey{0x0706050403020100, 0x0f0e0d0c0b0a0908}

// newFq attaches fq_codel to a test NIC whose host's hashrnd is key.
func newFq(key core.SiphashKey) (*qrig, *sched.FqCodel) {
	var q *sched.FqCodel
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc { q = sched.NewFqCodel(dev); return q })
	r.Dev.Net.HashRnd = &key
	return r, q
}

// TestFqCodelFlowHashKnown: with hashrnd set to the reference key, UDP
// 192.0.2.1:1000 → 192.0.2.2:9000 lands in flow 805 and :2000 in flow
// 513, the buckets a C program computes from struct flow_keys as gcc
// lays it out on x86-64 (48 bytes from basic on, hashed with SipHash-2-4,
// truncated to 32 bits, reciprocal_scale to 1024). The trace shows the
// kernel's chain, and the hash is cached in the skb.
func TestFqCodelFlowHashKnown(t *testing.T) {
	r, q := newFq(kunitKey)
	var got [2]int
	var s1 *skb.SKB
	r.K.RunOn(0, 0, task, func() {
		s1 = r.udp(100, 1000)
		got[0] = q.FlowOf(r.K, s1)
		got[1] = q.FlowOf(r.K, r.udp(100, 2000))
	})
	r.Sim.Run(1_000_000)
	if got != [2]int{805, 513} {
		t.Errorf("flows %v, want [805 513]", got)
	}
	if s1.Hash != 0xc96c2d53 || !s1.SwHash || !s1.L4Hash {
		t.Errorf("skb->hash %#x sw %v l4 %v, want 0xc96c2d53, a software L4 hash", s1.Hash, s1.SwHash, s1.L4Hash)
	}
	tr := r.Sim.Trace()
	var chain []string
	for _, e := range events(tr, func(e *trace.Event) bool { return e.Kind == trace.Call && len(e.Skb) > 0 && e.Skb[0] == s1.ID }) {
		chain = append(chain, e.Fn)
	}
	want := []string{"fq_codel_classify", "fq_codel_hash", "__skb_get_hash_net", "__skb_flow_dissect", "__flow_hash_from_keys"}
	if !slices.Equal(chain, want) {
		t.Errorf("calls %v, want %v", chain, want)
	}
}

// TestFqCodelHashRndOnce: without a key set, the first flow hash draws
// hashrnd from the simulation's RNG (net_get_random_once), later hashes
// reuse it, and the same seed gives the same key and flows.
func TestFqCodelHashRndOnce(t *testing.T) {
	run := func() (core.SiphashKey, int, int) {
		var q *sched.FqCodel
		r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc { q = sched.NewFqCodel(dev); return q })
		if r.Dev.Net.HashRnd != nil {
			t.Fatal("hashrnd drawn before the first hash")
		}
		var a, b int
		var key core.SiphashKey
		r.K.RunOn(0, 0, task, func() {
			a = q.FlowOf(r.K, r.udp(100, 1000))
			key = *r.Dev.Net.HashRnd
			b = q.FlowOf(r.K, r.udp(100, 1000))
		})
		r.Sim.Run(1_000_000)
		if *r.Dev.Net.HashRnd != key || a != b {
			t.Errorf("hashrnd changed or one flow gave %d then %d", a, b)
		}
		return key, a, b
	}
	k1, a1, _ := run()
	k2, a2, _ := run()
	if k1 != k2 || a1 != a2 || k1 == (core.SiphashKey{}) {
		t.Errorf("two runs: keys %x %x flows %d %d", k1, k2, a1, a2)
	}
}

// TestFqCodelSparseFlowFirst: a sparse flow's packet, queued behind 20
// bulk packets, leaves third: the bulk flow spends its quantum (1514
// bytes: two 1042-byte packets) and goes to old_flows, and the sparse
// flow is served from new_flows.
func TestFqCodelSparseFlowFirst(t *testing.T) {
	r, q := newFq(kunitKey)
	var sparse int
	r.K.RunOn(0, 0, task, func() {
		for range 20 {
			q.Enqueue(r.K, r.udp(1042, 1000))
		}
		s := r.udp(1042, 2000)
		sparse = s.ID
		if a, b := q.FlowOf(r.K, r.udp(100, 1000)), q.FlowOf(r.K, s); a == b {
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
	r, q := newFq(kunitKey)
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
