package sched_test

import (
	"net/netip"
	"strings"
	"testing"

	"skbscope/nicsim"
	"skbscope/nicsim/e1000e"
	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// rig is one host with an e1000e NIC and pfifo_fast, cabled to a second
// NIC, so transmitted frames really leave.
type rig struct {
	sim *kernel.Sim
	k   *kernel.Kernel
	dev *core.Device
	q   *sched.PfifoFast
}

func newRig() *rig {
	sim := kernel.NewSim(1)
	r := &rig{sim: sim}
	var nics [2]*e1000e.NIC
	for i, name := range []string{"A", "B"} {
		k := sim.NewKernel(name, 1)
		c := core.NewNet(k, sched.Runner{})
		dev := &core.Device{Name: "eth0", Addr: header.MAC{2, 0, 0, 0, 0, byte(i + 1)}, MTU: 1500, Up: true}
		c.AddDevice(dev)
		nics[i] = e1000e.New(k, dev)
		if i == 0 {
			r.k, r.dev = k, dev
			r.q = sched.NewPfifoFast(dev)
			dev.Qdisc = r.q
		}
	}
	l := nicsim.NewLink(sim, "lan0", 1_000_000_000, 0, nics[0], nics[1])
	nics[0].Link, nics[1].Link = l, l
	return r
}

// frame makes an skb holding an Ethernet frame with the given priority.
func (r *rig) frame(prio uint32) *skb.SKB {
	s := core.AllocSkb(r.k, 128)
	_ = s.Reserve(16)
	b, _ := s.PutBytes(60)
	header.Ethernet(b).Encode(header.MAC{2, 0, 0, 0, 0, 2}, r.dev.Addr, header.EtherTypeIPv4)
	s.SetNetworkHeader(14)
	header.IPv4(b[14:]).Encode(0, 0, 0, 64, header.ProtoUDP, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
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
	r.k.RunOn(0, 0, ctx, func() {
		waiting := r.frame(6) // TC_PRIO_INTERACTIVE → band 0
		if got := r.q.Enqueue(r.k, waiting); got != core.NetXmitSuccess {
			t.Errorf("enqueue: %v", got)
		}
		rc = core.DevQueueXmit(r.k, r.dev, r.frame(0)) // TC_PRIO_BESTEFFORT → band 1
	})
	r.sim.Run(1_000_000)
	tr := r.sim.Trace()
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
	if !r.q.Empty() || r.q.Sent != 2 {
		t.Errorf("qdisc after the run: empty %v, sent %d", r.q.Empty(), r.q.Sent)
	}
}

// TestBandOverflow: a band holds tx_queue_len skbs; one more is dropped
// with SKB_DROP_REASON_QDISC_DROP and NET_XMIT_DROP.
func TestBandOverflow(t *testing.T) {
	r := newRig()
	r.dev.TxQueueLen = 2
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	var got []core.NetXmit
	r.k.RunOn(0, 0, ctx, func() {
		for range 3 {
			got = append(got, r.q.Enqueue(r.k, r.frame(0)))
		}
	})
	r.sim.Run(1_000_000)
	if got[0] != core.NetXmitSuccess || got[1] != core.NetXmitSuccess || got[2] != core.NetXmitDrop {
		t.Fatalf("enqueue results %v", got)
	}
	var reasons []string
	for _, e := range r.sim.Trace().Events {
		if e.Kind == trace.Drop {
			reasons = append(reasons, e.Reason)
		}
	}
	if len(reasons) != 1 || reasons[0] != string(skb.QdiscDrop) || r.q.Dropped != 1 {
		t.Errorf("drops %v, counter %d", reasons, r.q.Dropped)
	}
}

// TestStoppedQueueRequeues: a stopped driver queue makes sch_direct_xmit
// requeue the skb on gso_skb instead of calling the driver.
func TestStoppedQueueRequeues(t *testing.T) {
	r := newRig()
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	r.k.RunOn(0, 0, ctx, func() {
		r.dev.NetifStopQueue(r.k)
		core.DevQueueXmit(r.k, r.dev, r.frame(0))
	})
	r.sim.Run(1_000_000)
	tr := r.sim.Trace()
	if has(fns(tr, 0), "e1000_xmit_frame") {
		t.Error("the driver was called with its queue stopped")
	}
	if !has(fns(tr, 0), "dev_requeue_skb") || r.q.Requeues != 1 || r.q.Empty() {
		t.Errorf("requeues %d, empty %v", r.q.Requeues, r.q.Empty())
	}
}
