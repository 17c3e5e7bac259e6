package sched_test

import (
	"strings"
	"testing"

	"skbscope/nicsim"
	"skbscope/nicsim/e1000e"
	"skbscope/nicsim/nictest"
	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// rig is one host with an e1000e NIC and pfifo_fast, cabled to a second
// NIC, so transmitted frames really leave.
type rig struct{ *nictest.Rig[*e1000e.NIC] }

func newRig() *rig {
	n := nictest.New(1_000_000_000, e1000e.New, cable)
	return &rig{n}
}

// cable attaches an e1000e to its link.
func cable(n *e1000e.NIC, l *nicsim.Link) { n.Link = l }

// frame makes an skb holding an Ethernet frame with the given priority.
func (r *rig) frame(prio uint32) *skb.SKB {
	s := r.Frame(0)
	s.Priority = prio
	return s
}

func fns(tr *trace.Trace, from int) []string {
	var out []string
	for _, e := range tr.Events[from:] {
		if e.Kind == trace.Call {
			out = append(out, e.Fn)
		}
	}
	return out
}

func has(list []string, fn string) bool {
	for _, f := range list {
		if f == fn {
			return true
		}
	}
	return false
}

// TestEnqueueBranch: with a packet already waiting in pfifo_fast,
// __dev_xmit_skb cannot bypass; it enqueues and runs the qdisc, which
// sends the waiting band-0 packet before the new band-2 one.
func TestEnqueueBranch(t *testing.T) {
	r := newRig()
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	var rc core.NetXmit
	r.K.RunOn(0, 0, ctx, func() {
		waiting := r.frame(6) // TC_PRIO_INTERACTIVE → band 0
		if got := r.Q.Enqueue(r.K, waiting); got != core.NetXmitSuccess {
			t.Errorf("enqueue: %v", got)
		}
		rc = core.DevQueueXmit(r.K, r.Dev, r.frame(0)) // TC_PRIO_BESTEFFORT → band 1
	})
	r.Sim.Run(1_000_000)
	tr := r.Sim.Trace()
	if rc != core.NetXmitSuccess {
		t.Fatalf("dev_queue_xmit = %v", rc)
	}
	called := fns(tr, 0)
	for _, fn := range []string{"dev_qdisc_enqueue", "pfifo_fast_enqueue", "qdisc_run", "__qdisc_run", "qdisc_restart", "dequeue_skb", "pfifo_fast_dequeue", "sch_direct_xmit", "e1000_xmit_frame"} {
		if !has(called, fn) {
			t.Errorf("%s not called; calls: %v", fn, called)
		}
	}
	var wire []*trace.Event
	var deq []string
	for i := range tr.Events {
		e := &tr.Events[i]
		switch {
		case e.Kind == trace.Wire:
			wire = append(wire, e)
		case e.Kind == trace.Dequeue && strings.HasPrefix(e.Queue, "pfifo_fast band"):
			// BQL (limit 0 at first) stops the queue after the first
			// skb; the second waits in gso_skb for the TX completion.
			deq = append(deq, e.Queue)
		}
	}
	if len(wire) != 2 {
		t.Fatalf("%d frames on the wire, want 2", len(wire))
	}
	if len(deq) != 2 || deq[0] != "pfifo_fast band 0" || deq[1] != "pfifo_fast band 1" {
		t.Errorf("dequeue order %v, want band 0 then band 1", deq)
	}
	if !r.Q.Empty() || r.Q.Sent != 2 {
		t.Errorf("qdisc after the run: empty %v, sent %d", r.Q.Empty(), r.Q.Sent)
	}
}

// TestBandOverflow: a band holds tx_queue_len skbs; one more is dropped
// with SKB_DROP_REASON_QDISC_DROP and NET_XMIT_DROP.
func TestBandOverflow(t *testing.T) {
	r := newRig()
	r.Dev.TxQueueLen = 2
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	var got []core.NetXmit
	r.K.RunOn(0, 0, ctx, func() {
		for range 3 {
			got = append(got, r.Q.Enqueue(r.K, r.frame(0)))
		}
	})
	r.Sim.Run(1_000_000)
	if got[0] != core.NetXmitSuccess || got[1] != core.NetXmitSuccess || got[2] != core.NetXmitDrop {
		t.Fatalf("enqueue results %v", got)
	}
	var reasons []string
	for _, e := range r.Sim.Trace().Events {
		if e.Kind == trace.Drop {
			reasons = append(reasons, e.Reason)
		}
	}
	if len(reasons) != 1 || reasons[0] != string(skb.QdiscDrop) || r.Q.Dropped != 1 {
		t.Errorf("drops %v, counter %d", reasons, r.Q.Dropped)
	}
}

// TestStoppedQueueRequeues: a stopped driver queue makes sch_direct_xmit
// requeue the skb on gso_skb instead of calling the driver.
func TestStoppedQueueRequeues(t *testing.T) {
	r := newRig()
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	r.K.RunOn(0, 0, ctx, func() {
		r.Dev.NetifStopQueue(r.K)
		core.DevQueueXmit(r.K, r.Dev, r.frame(0))
	})
	r.Sim.Run(1_000_000)
	tr := r.Sim.Trace()
	if has(fns(tr, 0), "e1000_xmit_frame") {
		t.Error("the driver was called with its queue stopped")
	}
	if !has(fns(tr, 0), "dev_requeue_skb") || r.Q.Requeues != 1 || r.Q.Empty() {
		t.Errorf("requeues %d, empty %v", r.Q.Requeues, r.Q.Empty())
	}
}
