package cs89x0_test

import (
	"net/netip"
	"strings"
	"testing"

	"skbscope/nicsim"
	"skbscope/nicsim/cs89x0"
	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// rig is host A with a CS8900A and pfifo_fast, cabled at 10 Mbit/s to
// host B's CS8900A.
type rig struct {
	sim  *kernel.Sim
	k    *kernel.Kernel
	dev  *core.Device
	q    *sched.PfifoFast
	a, b *cs89x0.NIC
}

func newRig() *rig {
	sim := kernel.NewSim(1)
	r := &rig{sim: sim}
	var nics [2]*cs89x0.NIC
	for i, name := range []string{"A", "B"} {
		k := sim.NewKernel(name, 1)
		c := core.NewNet(k, sched.Runner{})
		dev := &core.Device{Name: "eth0", Addr: header.MAC{2, 0, 0, 0, 0, byte(i + 1)}, MTU: 1500, Up: true, TxQueueLen: 1000}
		c.AddDevice(dev)
		nics[i] = cs89x0.New(k, dev)
		dev.Qdisc = sched.NewPfifoFast(dev)
		if i == 0 {
			r.k, r.dev = k, dev
			r.q = dev.Qdisc.(*sched.PfifoFast)
		}
	}
	l := nicsim.NewLink(sim, "lan0", cs89x0.RateBps, 0, nics[0], nics[1])
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

// TestStopPerPacket: net_send_packet stops the queue for every skb, and
// only the TX-complete interrupt wakes it, from hard interrupt context:
// the driver is never called while a frame is in the chip's buffer.
func TestStopPerPacket(t *testing.T) {
	r := newRig()
	r.send(5)
	tr := r.sim.Trace()
	if n := count(tr, isStop); n != 5 {
		t.Errorf("%d queue stops for 5 skbs, want 5", n)
	}
	wakes := count(tr, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "netif_tx_wake_queue" && e.Ctx == "hardirq:eth0"
	})
	if wakes != 5 {
		t.Errorf("%d wakes from net_interrupt, want 5", wakes)
	}
	// Between two calls of the driver there is a TX-complete interrupt.
	inChip := false
	for _, e := range tr.Events {
		switch {
		case e.Host != "A":
		case e.Kind == trace.Call && e.Fn == "net_send_packet":
			if inChip {
				t.Fatalf("seq %d: net_send_packet called while the chip still holds a frame", e.Seq)
			}
		case e.Kind == trace.Enqueue && strings.HasSuffix(e.Queue, "TX buffer"):
			inChip = true
		case e.Kind == trace.Dequeue && strings.HasSuffix(e.Queue, "TX buffer"):
			inChip = false
		}
	}
	if r.a.TxCount != 5 || r.b.Dev.RxPackets != 5 || r.dev.TxPackets != 5 {
		t.Errorf("sent %d, tx_packets %d, B received %d; want 5", r.a.TxCount, r.dev.TxPackets, r.b.Dev.RxPackets)
	}
	if !r.q.Empty() {
		t.Error("skbs left in the qdisc")
	}
}

// TestTxBufferNotFree: while the chip cannot allocate a transmit buffer,
// net_send_packet returns NETDEV_TX_BUSY with the queue stopped and the
// skb not freed; sch_direct_xmit requeues it (dev_requeue_skb), and the
// chip's Rdy4Tx buffer event wakes the queue so NET_TX sends it.
func TestTxBufferNotFree(t *testing.T) {
	r := newRig()
	r.a.BufferHeldUntil = 200_000
	r.send(3)
	tr := r.sim.Trace()
	busy := count(tr, func(e *trace.Event) bool {
		return e.Kind == trace.Ret && e.Fn == "net_send_packet" && e.Ret == "NETDEV_TX_BUSY"
	})
	if busy != 1 || r.a.TxBusyCount != 1 {
		t.Errorf("%d NETDEV_TX_BUSY returns (counter %d), want 1", busy, r.a.TxBusyCount)
	}
	if r.q.Requeues == 0 || count(tr, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "dev_requeue_skb" }) == 0 {
		t.Error("the busy skb was not requeued")
	}
	if count(tr, func(e *trace.Event) bool {
		return e.Kind == trace.State && strings.Contains(e.Note, "BufEvent (Rdy4Tx)")
	}) != 1 {
		t.Error("no Rdy4Tx buffer event")
	}
	var wire []byte
	for _, e := range tr.Events {
		if e.Kind == trace.Wire {
			if e.T < 200_000 {
				t.Errorf("a frame left at %d ns, before the buffer was free", e.T)
			}
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
