package sched_test

import (
	"testing"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// TestPfifoTailDrop: pfifo holds limit packets; the next one is dropped in
// pfifo_enqueue through qdisc_drop with SKB_DROP_REASON_QDISC_DROP.
func TestPfifoTailDrop(t *testing.T) {
	var q *sched.Fifo
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc { q = sched.NewPfifo(dev, 2); return q })
	var got []core.NetXmit
	r.K.RunOn(0, 0, task, func() {
		for range 3 {
			got = append(got, q.Enqueue(r.K, r.udp(100, 1)))
		}
	})
	r.Sim.Run(1_000_000)
	if got[0] != core.NetXmitSuccess || got[1] != core.NetXmitSuccess || got[2] != core.NetXmitDrop {
		t.Fatalf("enqueue results %v", got)
	}
	tr := r.Sim.Trace()
	drops := events(tr, func(e *trace.Event) bool { return e.Kind == trace.Drop })
	if len(drops) != 1 || drops[0].Reason != string(skb.QdiscDrop) {
		t.Fatalf("drops %+v", drops)
	}
	if in := stackAt(tr, drops[0]); !has(in, "qdisc_drop") || !has(in, "pfifo_enqueue") {
		t.Errorf("drop outside pfifo_enqueue → qdisc_drop: %v", in)
	}
	if q.Dropped != 1 || q.QLen != 2 || q.Backlog != 200 {
		t.Errorf("dropped %d qlen %d backlog %d", q.Dropped, q.QLen, q.Backlog)
	}
}

// TestBfifoByteLimit: bfifo counts bytes, not packets: a small packet
// still fits where a full one did not.
func TestBfifoByteLimit(t *testing.T) {
	var q *sched.Fifo
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc { q = sched.NewBfifo(dev, 250); return q })
	got := r.enqueueAll(q, 100, 100, 100, 50)
	want := []core.NetXmit{core.NetXmitSuccess, core.NetXmitSuccess, core.NetXmitDrop, core.NetXmitSuccess}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("enqueue results %v, want %v", got, want)
		}
	}
	if q.Backlog != 250 || q.QLen != 3 || q.Dropped != 1 {
		t.Errorf("backlog %d qlen %d dropped %d", q.Backlog, q.QLen, q.Dropped)
	}
}

// TestFifoDefaults: fifo_init's limits come from tx_queue_len, and bfifo
// may bypass only if a full frame fits.
func TestFifoDefaults(t *testing.T) {
	dev := &core.Device{Name: "eth0", MTU: 1500, TxQueueLen: 1000}
	if l := sched.NewPfifo(dev, 0).Limit; l != 1000 {
		t.Errorf("pfifo default limit %d, want 1000", l)
	}
	if l := sched.NewBfifo(dev, 0).Limit; l != 1000*1514 {
		t.Errorf("bfifo default limit %d, want %d", l, 1000*1514)
	}
	if sched.NewBfifo(dev, 1000).CanBypass() || !sched.NewBfifo(dev, 1514).CanBypass() {
		t.Error("bfifo bypass does not follow limit >= psched_mtu")
	}
	dev.TxQueueLen = 0
	if l := sched.NewPfifo(dev, 0).Limit; l != 1 {
		t.Errorf("pfifo limit with txqueuelen 0: %d, want 1", l)
	}
}

// TestPfifoDrainsInOrder: the runner sends what pfifo holds in FIFO
// order, and the last dequeue reports an empty backlog in its stats.
func TestPfifoDrainsInOrder(t *testing.T) {
	var q *sched.Fifo
	r := newQRig(1e9, func(k *kernel.Kernel, dev *core.Device) core.Qdisc { q = sched.NewPfifo(dev, 10); return q })
	var ids []int
	r.K.RunOn(0, 0, task, func() {
		for range 3 {
			s := r.udp(100, 1)
			ids = append(ids, s.ID)
			q.Enqueue(r.K, s)
		}
		sched.Runner{}.QdiscRun(r.K, q, r.Dev)
	})
	r.Sim.Run(10_000_000)
	tr := r.Sim.Trace()
	deq := events(tr, func(e *trace.Event) bool { return e.Kind == trace.Dequeue && e.Queue == "pfifo" })
	if len(deq) != 3 {
		t.Fatalf("%d dequeues", len(deq))
	}
	for i, e := range deq {
		if e.Skb[0] != ids[i] {
			t.Fatalf("dequeue %d is skb %d, want %d", i, e.Skb[0], ids[i])
		}
	}
	rets := events(tr, func(e *trace.Event) bool {
		return e.Kind == trace.Ret && e.Fn == "qdisc_dequeue_head" && e.Ret == "skb"
	})
	last := rets[len(rets)-1]
	if val(last, "backlog_pkts") != "0" || val(last, "qdisc") != "pfifo" {
		t.Errorf("last dequeue's stats %v", last.Vals)
	}
	if q.Sent != 3 || q.Bytes != 300 {
		t.Errorf("sent %d pkts %d bytes", q.Sent, q.Bytes)
	}
}

// stackAt is the call stack (function names, innermost first) at e.
func stackAt(tr *trace.Trace, e *trace.Event) []string {
	var out []string
	for up := e.Up; up >= 0; up = tr.Events[up].Up {
		out = append(out, tr.Events[up].Fn)
	}
	return out
}
