package dm9000_test

import (
	"net/netip"
	"strings"
	"testing"

	"skbscope/nicsim"
	"skbscope/nicsim/dm9000"
	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// rig is host A with a DM9000 and pfifo_fast, cabled at 10 Mbit/s to
// host B's DM9000.
type rig struct {
	sim  *kernel.Sim
	k    *kernel.Kernel
	dev  *core.Device
	q    *sched.PfifoFast
	a, b *dm9000.NIC
}

func newRig() *rig {
	sim := kernel.NewSim(1)
	r := &rig{sim: sim}
	var nics [2]*dm9000.NIC
	for i, name := range []string{"A", "B"} {
		k := sim.NewKernel(name, 1)
		c := core.NewNet(k, sched.Runner{})
		dev := &core.Device{Name: "eth0", Addr: header.MAC{2, 0, 0, 0, 0, byte(i + 1)}, MTU: 1500, Up: true, TxQueueLen: 1000}
		c.AddDevice(dev)
		nics[i] = dm9000.New(k, dev)
		dev.Qdisc = sched.NewPfifoFast(dev)
		if i == 0 {
			r.k, r.dev = k, dev
			r.q = dev.Qdisc.(*sched.PfifoFast)
		}
	}
	l := nicsim.NewLink(sim, "lan0", dm9000.RateBps, 0, nics[0], nics[1])
	nics[0].Link, nics[1].Link = l, l
	r.a, r.b = nics[0], nics[1]
	return r
}

// frame makes an skb holding a 60-byte Ethernet frame to B; id marks it.
func (r *rig) frame(id byte) *skb.SKB {
	s := core.AllocSkb(r.k, 128)
	_ = s.Reserve(16)
	b, _ := s.PutBytes(60)
	header.Ethernet(b).Encode(header.MAC{2, 0, 0, 0, 0, 2}, r.dev.Addr, header.EtherTypeIPv4)
	s.SetNetworkHeader(14)
	header.IPv4(b[14:]).Encode(0, 0, 0, 64, header.ProtoUDP, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	b[59] = id
	return s
}

func (r *rig) send(n int) {
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	r.k.RunOn(0, 0, ctx, func() {
		for i := range n {
			core.DevQueueXmit(r.k, r.dev, r.frame(byte(i+1)))
		}
	})
	r.sim.Run(100_000_000)
}

func count(tr *trace.Trace, match func(e *trace.Event) bool) int {
	n := 0
	for i := range tr.Events {
		if match(&tr.Events[i]) {
			n++
		}
	}
	return n
}

func isStop(e *trace.Event) bool { return e.Host == "A" && strings.Contains(e.Note, "txq stopped") }

// TestStopOnSecond: dm9000_start_xmit stops the queue only when a
// second frame goes into the TX SRAM (tx_pkt_cnt 2), never for the
// first; dm9000_tx_done wakes it from hard interrupt context after every
// frame, and starts the waiting frame itself.
func TestStopOnSecond(t *testing.T) {
	r := newRig()
	r.send(5)
	tr := r.sim.Trace()
	sram, stops := 0, 0
	for _, e := range tr.Events {
		switch {
		case e.Host != "A":
		case (e.Kind == trace.Enqueue || e.Kind == trace.Dequeue) && strings.HasSuffix(e.Queue, "TX SRAM"):
			sram = e.QLen
		case isStop(&e):
			stops++
			if sram != 2 {
				t.Errorf("seq %d: queue stopped with %d frames in the TX SRAM, want 2", e.Seq, sram)
			}
		case e.Kind == trace.Call && e.Fn == "dm9000_start_xmit" && sram > 1:
			t.Errorf("seq %d: dm9000_start_xmit called with the SRAM full", e.Seq)
		}
	}
	// Five skbs into two slots: the second one fills the SRAM, and each
	// refill after a completion fills it again, until the burst is in.
	if stops != 4 {
		t.Errorf("%d queue stops for 5 skbs, want 4 (never on the first)", stops)
	}
	wakes := count(tr, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "netif_tx_wake_queue" && e.Ctx == "hardirq:eth0"
	})
	if wakes != 5 {
		t.Errorf("%d netif_wake_queue calls from dm9000_tx_done, want one per frame, 5", wakes)
	}
	sends := count(tr, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "dm9000_send_packet"
	})
	fromIRQ := count(tr, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "dm9000_send_packet" && e.Ctx == "hardirq:eth0"
	})
	if sends != 5 || fromIRQ != 4 {
		t.Errorf("dm9000_send_packet %d times, %d from the interrupt; want 5 and 4", sends, fromIRQ)
	}
	if r.a.TxCount != 5 || r.b.Dev.RxPackets != 5 || r.dev.TxPackets != 5 {
		t.Errorf("sent %d, tx_packets %d, B received %d; want 5", r.a.TxCount, r.dev.TxPackets, r.b.Dev.RxPackets)
	}
}

// TestBusyWithBothSlotsFull: a wake from elsewhere (the watchdog's
// dm9000_timeout, say) while both frames are still in the SRAM makes
// dm9000_start_xmit return NETDEV_TX_BUSY without stopping the queue;
// dev_requeue_skb reschedules the qdisc (__netif_schedule), and NET_TX
// retries, busy again, until a TX completion frees a slot: the cost of
// a driver that returns NETDEV_TX_BUSY instead of stopping its queue.
func TestBusyWithBothSlotsFull(t *testing.T) {
	r := newRig()
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	r.k.RunOn(0, 0, ctx, func() {
		core.DevQueueXmit(r.k, r.dev, r.frame(1))
		core.DevQueueXmit(r.k, r.dev, r.frame(2))
		r.k.LocalBhDisable()
		r.dev.NetifWakeQueue(r.k) // NET_TX runs at local_bh_enable
		r.k.LocalBhEnable()
		core.DevQueueXmit(r.k, r.dev, r.frame(3))
	})
	r.sim.Run(100_000_000)
	tr := r.sim.Trace()
	busy := count(tr, func(e *trace.Event) bool {
		return e.Kind == trace.Ret && e.Fn == "dm9000_start_xmit" && e.Ret == "NETDEV_TX_BUSY"
	})
	if busy < 2 || r.a.TxBusyCount != busy {
		t.Errorf("%d NETDEV_TX_BUSY returns (counter %d), want NET_TX to retry", busy, r.a.TxBusyCount)
	}
	if r.q.Requeues != busy {
		t.Errorf("%d requeues for %d busy returns", r.q.Requeues, busy)
	}
	resched := count(tr, func(e *trace.Event) bool {
		return e.Kind == trace.Call && e.Fn == "__netif_schedule" && e.Up >= 0 && tr.Events[e.Up].Fn == "dev_requeue_skb"
	})
	if resched != busy {
		t.Errorf("dev_requeue_skb called __netif_schedule %d times, want %d", resched, busy)
	}
	var wire []byte
	for _, e := range tr.Events {
		if e.Kind == trace.Wire {
			wire = append(wire, e.Frame[59])
		}
	}
	if string(wire) != "\x01\x02\x03" {
		t.Errorf("frames on the wire in order %v, want 1 2 3", wire)
	}
	if n := count(tr, func(e *trace.Event) bool { return e.Host == "A" && e.Kind == trace.Drop }); n != 0 {
		t.Errorf("%d drops on A", n)
	}
}
