package core

import (
	"strings"
	"testing"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// fakeOps is a virtual device's driver for the tests: xmit decides.
type fakeOps struct {
	xmit func(k *kernel.Kernel, s *skb.SKB, dev *Device) NetdevTx
}

func (o fakeOps) NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *Device) NetdevTx {
	return o.xmit(k, s, dev)
}

// xmitOnce sends one skb through a fresh noqueue device in a task and
// returns what dev_queue_xmit said and the trace.
func xmitOnce(t *testing.T, setup func(dev *Device), xmit func(k *kernel.Kernel, s *skb.SKB, dev *Device) NetdevTx) (NetXmit, *Device, *trace.Trace) {
	t.Helper()
	sim := kernel.NewSim(1)
	k := sim.NewKernel("A", 1)
	n := NewNet(k, nil)
	dev := &Device{Name: "tun0", Up: true, LLTX: true, Qdisc: &Noqueue{}, Ops: fakeOps{xmit}}
	n.AddDevice(dev)
	setup(dev)
	var rc NetXmit
	task := k.NewTask("sender")
	k.RunOn(0, 0, task.Context(), func() {
		s := AllocSkb(k, 64)
		_, _ = s.PutBytes(20)
		rc = DevQueueXmit(k, dev, s)
	})
	sim.Run(1_000_000)
	return rc, dev, sim.Trace()
}

func notes(tr *trace.Trace) string {
	var b strings.Builder
	for _, e := range tr.Events {
		b.WriteString(e.Note + "\n")
	}
	return b.String()
}

func drops(tr *trace.Trace) []string {
	var r []string
	for _, e := range tr.Events {
		if e.Kind == trace.Drop {
			r = append(r, e.Reason)
		}
	}
	return r
}

func consume(k *kernel.Kernel, s *skb.SKB, dev *Device) NetdevTx {
	ConsumeSkb(k, s)
	return NetdevTxOK
}

// TestNoqueueDeadLoopLLTX: a tunnel whose route leads back into itself.
// An LLTX device takes no TX lock, so only the per-CPU recursion counter
// stops it: nine nested transmissions pass (the counter goes up to 9),
// the tenth finds it above XMIT_RECURSION_LIMIT (8).
func TestNoqueueDeadLoopLLTX(t *testing.T) {
	entries := 0
	var inner []NetXmit
	rc, dev, tr := xmitOnce(t, func(*Device) {}, func(k *kernel.Kernel, s *skb.SKB, dev *Device) NetdevTx {
		entries++
		inner = append(inner, DevQueueXmit(k, dev, s)) // the loop: our own skb back into ourselves
		return NetdevTxOK
	})
	if entries != 9 {
		t.Errorf("the driver ran %d times, want 9", entries)
	}
	// inner[0] is the innermost call: it returns first.
	if rc != NetXmitSuccess || len(inner) != 9 || inner[0] != NetXmit(-kernel.ENETDOWN) {
		t.Errorf("outer rc %v, inner %v", rc, inner)
	}
	if !strings.Contains(notes(tr), "Dead loop on virtual device tun0, fix it urgently! (xmit recursion 9)") {
		t.Errorf("no Dead loop message:\n%s", notes(tr))
	}
	if d := drops(tr); len(d) != 1 || d[0] != string(skb.NotSpecified) || dev.TxDropped != 1 {
		t.Errorf("drops %v, tx_dropped %d", d, dev.TxDropped)
	}
	if sd := dev.Net.softnet[0]; sd.xmitRecursion != 0 {
		t.Errorf("recursion counter left at %d", sd.xmitRecursion)
	}
}

// TestNoqueueDeadLoopLocked: the same loop on a device that is not LLTX
// is caught at once: the second entry finds this CPU owning the TX lock.
func TestNoqueueDeadLoopLocked(t *testing.T) {
	entries := 0
	var inner NetXmit
	_, dev, tr := xmitOnce(t, func(d *Device) { d.LLTX = false }, func(k *kernel.Kernel, s *skb.SKB, dev *Device) NetdevTx {
		entries++
		inner = DevQueueXmit(k, dev, s)
		return NetdevTxOK
	})
	if entries != 1 || inner != NetXmit(-kernel.ENETDOWN) {
		t.Errorf("driver ran %d times, inner rc %v", entries, inner)
	}
	if !strings.Contains(notes(tr), "Dead loop on virtual device tun0") || dev.TxDropped != 1 {
		t.Errorf("no Dead loop drop (tx_dropped %d):\n%s", dev.TxDropped, notes(tr))
	}
}

// TestNoqueueAsksToQueue: a driver without a queue that says busy, or a
// stopped queue, loses the skb: -ENETDOWN.
func TestNoqueueAsksToQueue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*Device)
		xmit  func(*kernel.Kernel, *skb.SKB, *Device) NetdevTx
	}{
		{"busy", func(*Device) {}, func(*kernel.Kernel, *skb.SKB, *Device) NetdevTx { return NetdevTxBusy }},
		{"stopped", func(d *Device) { d.txqStopped = true }, func(*kernel.Kernel, *skb.SKB, *Device) NetdevTx {
			t.Error("driver called with its queue stopped")
			return NetdevTxOK
		}},
	} {
		rc, dev, tr := xmitOnce(t, tc.setup, tc.xmit)
		if rc != NetXmit(-kernel.ENETDOWN) || dev.TxDropped != 1 || len(drops(tr)) != 1 {
			t.Errorf("%s: rc %v, tx_dropped %d, drops %v", tc.name, rc, dev.TxDropped, drops(tr))
		}
		if !strings.Contains(notes(tr), "Virtual device tun0 asks to queue packet!") {
			t.Errorf("%s: no message:\n%s", tc.name, notes(tr))
		}
	}
}

// TestNoqueueNotUp: a noqueue device without IFF_UP (the moment between
// dev_deactivate and the flag) drops with __dev_queue_xmit's initial
// -ENOMEM; the driver is not called. And a healthy one transmits.
func TestNoqueueNotUp(t *testing.T) {
	rc, dev, tr := xmitOnce(t, func(d *Device) { d.Up = false }, func(*kernel.Kernel, *skb.SKB, *Device) NetdevTx {
		t.Error("driver called on a device that is down")
		return NetdevTxOK
	})
	if rc != NetXmit(-kernel.ENOMEM) || dev.TxDropped != 1 || len(drops(tr)) != 1 {
		t.Errorf("rc %v, tx_dropped %d, drops %v", rc, dev.TxDropped, drops(tr))
	}
	if rc, dev, _ := xmitOnce(t, func(*Device) {}, consume); rc != NetXmitSuccess || dev.TxDropped != 0 {
		t.Errorf("healthy device: rc %v, tx_dropped %d", rc, dev.TxDropped)
	}
}
