package dm9000_test

import (
	"strings"
	"testing"

	"skbscope/nicsim"
	"skbscope/nicsim/dm9000"
	"skbscope/nicsim/nictest"
	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

func newRig() *nictest.Rig[*dm9000.NIC] {
	return nictest.New(dm9000.RateBps, dm9000.New, func(n *dm9000.NIC, l *nicsim.Link) { n.Link = l })
}

var count = nictest.Count

func isStop(e *trace.Event) bool { return e.Host == "A" && strings.Contains(e.Note, "txq stopped") }

// TestStopOnSecond: dm9000_start_xmit stops the queue only when a
// second frame goes into the TX SRAM (tx_pkt_cnt 2), never for the
// first; dm9000_tx_done wakes it from hard interrupt context after every
// frame, and starts the waiting frame itself.
func TestStopOnSecond(t *testing.T) {
	r := newRig()
	r.Send(5)
	tr := r.Sim.Trace()
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
	if r.A.TxCount != 5 || r.B.Dev.RxPackets != 5 || r.Dev.TxPackets != 5 {
		t.Errorf("sent %d, tx_packets %d, B received %d; want 5", r.A.TxCount, r.Dev.TxPackets, r.B.Dev.RxPackets)
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
	r.K.RunOn(0, 0, ctx, func() {
		core.DevQueueXmit(r.K, r.Dev, r.Frame(1))
		core.DevQueueXmit(r.K, r.Dev, r.Frame(2))
		r.K.LocalBhDisable()
		r.Dev.NetifWakeQueue(r.K) // NET_TX runs at local_bh_enable
		r.K.LocalBhEnable()
		core.DevQueueXmit(r.K, r.Dev, r.Frame(3))
	})
	r.Sim.Run(100_000_000)
	tr := r.Sim.Trace()
	busy := count(tr, func(e *trace.Event) bool {
		return e.Kind == trace.Ret && e.Fn == "dm9000_start_xmit" && e.Ret == "NETDEV_TX_BUSY"
	})
	if busy < 2 || r.A.TxBusyCount != busy {
		t.Errorf("%d NETDEV_TX_BUSY returns (counter %d), want NET_TX to retry", busy, r.A.TxBusyCount)
	}
	if r.Q.Requeues != busy {
		t.Errorf("%d requeues for %d busy returns", r.Q.Requeues, busy)
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
