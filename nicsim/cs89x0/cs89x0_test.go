package cs89x0_test

import (
	"strings"
	"testing"

	"skbscope/nicsim"
	"skbscope/nicsim/cs89x0"
	"skbscope/nicsim/nictest"
	"skbscope/stack/trace"
)

func newRig() *nictest.Rig[*cs89x0.NIC] {
	return nictest.New(cs89x0.RateBps, cs89x0.New, func(n *cs89x0.NIC, l *nicsim.Link) { n.Link = l })
}

var count = nictest.Count

func isStop(e *trace.Event) bool { return e.Host == "A" && strings.Contains(e.Note, "txq stopped") }

// TestStopPerPacket: net_send_packet stops the queue for every skb, and
// only the TX-complete interrupt wakes it, from hard interrupt context:
// the driver is never called while a frame is in the chip's buffer.
func TestStopPerPacket(t *testing.T) {
	r := newRig()
	r.Send(5)
	tr := r.Sim.Trace()
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
	if r.A.TxCount != 5 || r.B.Dev.RxPackets != 5 || r.Dev.TxPackets != 5 {
		t.Errorf("sent %d, tx_packets %d, B received %d; want 5", r.A.TxCount, r.Dev.TxPackets, r.B.Dev.RxPackets)
	}
	if !r.Q.Empty() {
		t.Error("skbs left in the qdisc")
	}
}

// TestTxBufferNotFree: while the chip cannot allocate a transmit buffer,
// net_send_packet returns NETDEV_TX_BUSY with the queue stopped and the
// skb not freed; sch_direct_xmit requeues it (dev_requeue_skb), and the
// chip's Rdy4Tx buffer event wakes the queue so NET_TX sends it.
func TestTxBufferNotFree(t *testing.T) {
	r := newRig()
	r.A.BufferHeldUntil = 200_000
	r.Send(3)
	tr := r.Sim.Trace()
	busy := count(tr, func(e *trace.Event) bool {
		return e.Kind == trace.Ret && e.Fn == "net_send_packet" && e.Ret == "NETDEV_TX_BUSY"
	})
	if busy != 1 || r.A.TxBusyCount != 1 {
		t.Errorf("%d NETDEV_TX_BUSY returns (counter %d), want 1", busy, r.A.TxBusyCount)
	}
	if r.Q.Requeues == 0 || count(tr, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "dev_requeue_skb" }) == 0 {
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
