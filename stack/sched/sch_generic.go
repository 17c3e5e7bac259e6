// Package sched models net/sched: the generic qdisc runner of
// net/sched/sch_generic.c and the disciplines.
package sched

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const schGenericC = "net/sched/sch_generic.c"

// DevTxWeight is net_hotdata.dev_tx_weight: how many packets one
// __qdisc_run may send before leaving the rest to NET_TX.
const DevTxWeight = 64

var (
	fnQdiscRun      = kernel.NewFn("qdisc_run", "include/net/pkt_sched.h", "qdisc")
	fnQdiscRunInner = kernel.NewFn("__qdisc_run", schGenericC, "qdisc")
	fnQdiscRestart  = kernel.NewFn("qdisc_restart", schGenericC, "qdisc")
	fnDequeueSkb    = kernel.NewFn("dequeue_skb", schGenericC, "qdisc")
	fnSchDirectXmit = kernel.NewFn("sch_direct_xmit", schGenericC, "qdisc")
	fnDevRequeueSkb = kernel.NewFn("dev_requeue_skb", schGenericC, "qdisc")

	fnNoopEnqueue        = kernel.NewFn("noop_enqueue", schGenericC, "qdisc")
	fnNoopDequeue        = kernel.NewFn("noop_dequeue", schGenericC, "qdisc")
	fnDevDeactivateMany  = kernel.NewFn("dev_deactivate_many", schGenericC, "qdisc")
	fnDevDeactivate      = kernel.NewFn("dev_deactivate", schGenericC, "qdisc")
	fnDevDeactivateQueue = kernel.NewFn("dev_deactivate_queue", schGenericC, "qdisc")
	fnSynchronizeNet     = kernel.NewFn("synchronize_net", "net/core/dev.c", "qdisc")
	fnDevResetQueue      = kernel.NewFn("dev_reset_queue", schGenericC, "qdisc")
	fnQdiscReset         = kernel.NewFn("qdisc_reset", schGenericC, "qdisc")
	fnDevActivate        = kernel.NewFn("dev_activate", schGenericC, "qdisc")
	fnTransitionOneQdisc = kernel.NewFn("transition_one_qdisc", schGenericC, "qdisc")
)

// discipline is what a qdisc in this package provides beyond core.Qdisc.
type discipline interface {
	core.Qdisc
	base() *Base
	dequeue(k *kernel.Kernel) *skb.SKB
	reset(k *kernel.Kernel) // ops->reset: free every queued skb
	oneTxQueue() bool       // TCQ_F_ONETXQUEUE
}

// Base is the part of struct Qdisc every discipline shares: the requeue
// slot, the running bit and the statistics `tc -s qdisc` prints.
type Base struct {
	Dev      *core.Device
	gsoSkb   []*skb.SKB // q->gso_skb: requeued skbs, served first
	running  bool       // qdisc_run_begin has the qdisc
	Sent     int        // bstats packets
	Bytes    int
	Dropped  int
	Requeues int
	// Overlimits counts dequeues a shaper refused (tbf out of tokens).
	Overlimits int
	// Backlog and QLen are qstats.backlog (bytes) and q.qlen (packets)
	// for the disciplines that keep them (every one but pfifo_fast).
	Backlog int
	QLen    int
}

func (b *Base) base() *Base { return b }

// oneTxQueue is TCQ_F_ONETXQUEUE, which qdisc_create_dflt and tc set on
// the root qdisc of a device with one TX queue: every device here.
func (*Base) oneTxQueue() bool { return true }

// RunBegin is qdisc_run_begin(): take the right to dequeue.
func (b *Base) RunBegin() bool {
	if b.running {
		return false
	}
	b.running = true
	return true
}

// RunEnd is qdisc_run_end().
func (b *Base) RunEnd() { b.running = false }

// Runner is core.QdiscRunner: the generic transmit loop.
type Runner struct{}

// QdiscRun is qdisc_run(): if nobody else is running the qdisc, run it.
func (Runner) QdiscRun(k *kernel.Kernel, q core.Qdisc, dev *core.Device) {
	k.Call(fnQdiscRun)
	if q.RunBegin() {
		Runner{}.RunQdisc(k, q, dev)
		q.RunEnd()
	} else {
		k.Note(trace.State, "another CPU is running "+q.Kind()+": it will send our skb")
	}
	k.RetVoid(fnQdiscRun)
}

// RunQdisc is __qdisc_run(): dequeue and send until the qdisc is empty,
// the driver pushes back, or the quota is used up.
func (r Runner) RunQdisc(k *kernel.Kernel, q core.Qdisc, dev *core.Device) {
	k.Call(fnQdiscRunInner)
	for quota := DevTxWeight; r.qdiscRestart(k, q, dev); {
		quota--
		if quota <= 0 {
			k.Note(trace.State, "dev_tx_weight used up: the rest waits for NET_TX (__QDISC_STATE_MISSED)")
			break
		}
	}
	k.RetVoid(fnQdiscRunInner)
}

// qdiscRestart is qdisc_restart(): one dequeue, one direct xmit.
func (r Runner) qdiscRestart(k *kernel.Kernel, q core.Qdisc, dev *core.Device) bool {
	k.Call(fnQdiscRestart)
	s, validate := dequeueSkb(k, q, dev)
	if s == nil {
		return kernel.Ret(k, fnQdiscRestart, false)
	}
	return kernel.Ret(k, fnQdiscRestart, r.SchDirectXmit(k, s, q, dev, validate))
}

// dequeueSkb is dequeue_skb(): requeued skbs first (they were validated
// already), unless the driver's queue is stopped; then q->dequeue.
func dequeueSkb(k *kernel.Kernel, q core.Qdisc, dev *core.Device) (*skb.SKB, bool) {
	k.Call(fnDequeueSkb)
	d, ok := q.(discipline)
	if !ok {
		return kernel.Ret(k, fnDequeueSkb, (*skb.SKB)(nil)), false
	}
	b := d.base()
	if len(b.gsoSkb) > 0 {
		if dev.NetifXmitStopped() {
			k.Note(trace.State, "a requeued skb waits, but the driver's queue is stopped")
			return kernel.Ret(k, fnDequeueSkb, (*skb.SKB)(nil)), false
		}
		s := b.gsoSkb[0]
		b.gsoSkb = b.gsoSkb[1:]
		b.QLen--
		b.Backlog -= PktLen(s)
		k.Dequeue(q.Kind()+" gso_skb", len(b.gsoSkb), s)
		return kernel.Ret(k, fnDequeueSkb, s, s), false
	}
	// TCQ_F_ONETXQUEUE (a single-queue device's root qdisc): nothing is
	// taken out while the driver's queue is stopped.
	if d.oneTxQueue() && dev.NetifXmitStopped() {
		k.Note(trace.State, dev.Name+"'s only txq is stopped: leave the skbs in "+q.Kind())
		return kernel.Ret(k, fnDequeueSkb, (*skb.SKB)(nil)), false
	}
	s := d.dequeue(k)
	return kernel.Ret(k, fnDequeueSkb, s, s), true
}

// SchDirectXmit is sch_direct_xmit(): validate the skb, then give it to
// the driver unless its queue is stopped. It reports whether the caller
// may send more; a busy driver gets the skb back through dev_requeue_skb.
func (Runner) SchDirectXmit(k *kernel.Kernel, s *skb.SKB, q core.Qdisc, dev *core.Device, validate bool) bool {
	k.Call(fnSchDirectXmit, s)
	if validate {
		s = core.ValidateXmitSkbList(k, s, dev)
	}
	if s == nil {
		return kernel.Ret(k, fnSchDirectXmit, true)
	}
	ret := core.NetdevTxBusy
	sent := s.Len()
	if !dev.NetifXmitStopped() {
		s, ret = core.DevHardStartXmit(k, s, dev)
	} else {
		k.Note(trace.State, dev.Name+"'s queue is stopped: not calling the driver", s)
	}
	if ret != core.NetdevTxOK && ret != core.NetdevTxBusy && s != nil {
		k.Note(trace.State, fmt.Sprintf("BUG %s code %d", dev.Name, ret), s)
	}
	if s != nil {
		devRequeueSkb(k, s, q, dev)
		return kernel.Ret(k, fnSchDirectXmit, false)
	}
	if d, ok := q.(discipline); ok {
		d.base().Sent++
		d.base().Bytes += sent
	}
	return kernel.Ret(k, fnSchDirectXmit, true)
}

// devRequeueSkb is dev_requeue_skb(): put the skb back at the head of
// q->gso_skb, and make sure NET_TX tries again. For a driver that said
// NETDEV_TX_BUSY without stopping its queue (dm9000 with both slots
// full), that retry is what sends the skb at all: nothing else will run
// the qdisc. 6.12 reschedules after every requeue (for a TCQ_F_NOLOCK
// qdisc such as pfifo_fast through __QDISC_STATE_MISSED, which
// qdisc_run_end turns into __netif_schedule); when the queue is stopped
// that NET_TX run finds it stopped and does nothing
// (qdisc_maybe_clear_missed), and the model leaves that empty run out:
// the driver's netif_wake_queue schedules the qdisc instead.
func devRequeueSkb(k *kernel.Kernel, s *skb.SKB, q core.Qdisc, dev *core.Device) {
	k.Call(fnDevRequeueSkb, s)
	if d, ok := q.(discipline); ok {
		b := d.base()
		b.gsoSkb = append([]*skb.SKB{s}, b.gsoSkb...)
		b.Requeues++
		b.QLen++
		b.Backlog += PktLen(s)
		k.Enqueue(q.Kind()+" gso_skb", len(b.gsoSkb), s)
	}
	if !dev.NetifXmitStopped() && dev.Net != nil {
		dev.Net.NetifSchedule(k, dev)
	}
	k.RetVoid(fnDevRequeueSkb)
}

// Noop is noop_qdisc: what a device's queue points at while the device is
// down or has no carrier. It drops everything and says NET_XMIT_CN, which
// the IP layer does not report as an error: sendto() still succeeds.
type Noop struct{ Base }

// Kind is the qdisc's name in `tc qdisc`.
func (*Noop) Kind() string { return "noop" }

// CanEnqueue is true: noop_qdisc has an enqueue op, one that drops.
func (*Noop) CanEnqueue() bool { return true }

// CanBypass is false: TCQ_F_BUILTIN only.
func (*Noop) CanBypass() bool { return false }

// NoLock is false.
func (*Noop) NoLock() bool { return false }

// oneTxQueue is false: the builtin noop_qdisc has only TCQ_F_BUILTIN.
func (*Noop) oneTxQueue() bool { return false }

// Empty is true: nothing is ever queued.
func (*Noop) Empty() bool { return true }

// Enqueue is noop_enqueue(): count a tx drop on the device and drop.
func (q *Noop) Enqueue(k *kernel.Kernel, s *skb.SKB) core.NetXmit {
	k.Call(fnNoopEnqueue, s).Note = q.Dev.Name + " is down or has no carrier: its queue is noop_qdisc"
	q.Dev.TxDropped++ // dev_core_stats_tx_dropped_inc
	q.Dropped++
	core.KfreeSkbReason(k, s, skb.QdiscDrop)
	return kernel.Ret(k, fnNoopEnqueue, core.NetXmitCN)
}

func (*Noop) dequeue(k *kernel.Kernel) *skb.SKB {
	k.Call(fnNoopDequeue)
	return kernel.Ret(k, fnNoopDequeue, (*skb.SKB)(nil))
}

func (*Noop) reset(*kernel.Kernel) {}

// noopFor is the device's noop_qdisc (one per device in the model, so its
// drop counts are the device's).
func noopFor(dev *core.Device) core.Qdisc {
	if n, ok := dev.Qdisc.(*Noop); ok {
		return n
	}
	return &Noop{Base: Base{Dev: dev}}
}

// DevDeactivateMany is dev_deactivate_many() for one device: noop_qdisc
// goes in front of the real qdisc, a grace period lets every CPU finish
// the dev_queue_xmit it was in, then the real qdisc is emptied.
func (Runner) DevDeactivateMany(k *kernel.Kernel, dev *core.Device) {
	k.Call(fnDevDeactivateMany)
	k.Call(fnDevDeactivateQueue)
	old := dev.Qdisc
	if _, isNoop := old.(*Noop); !isNoop && old != nil {
		dev.QdiscSleeping = old
		dev.Qdisc = noopFor(dev)
		k.Note(trace.State, fmt.Sprintf("%s txq 0: %s marked __QDISC_STATE_DEACTIVATED, noop_qdisc takes its place", dev.Name, old.Kind()))
	}
	k.RetVoid(fnDevDeactivateQueue)
	k.Call(fnSynchronizeNet).Note = "wait for an RCU grace period: no CPU is still inside dev_queue_xmit with the old qdisc"
	k.RetVoid(fnSynchronizeNet)
	if d, ok := dev.QdiscSleeping.(discipline); ok && old == dev.QdiscSleeping {
		k.Call(fnDevResetQueue)
		k.Call(fnQdiscReset).Note = "free what " + d.Kind() + " still holds"
		d.reset(k)
		b := d.base()
		for _, s := range b.gsoSkb {
			core.KfreeSkbReason(k, s, skb.NotSpecified)
		}
		b.gsoSkb = nil
		b.QLen, b.Backlog = 0, 0
		k.RetVoid(fnQdiscReset)
		k.RetVoid(fnDevResetQueue)
	}
	k.RetVoid(fnDevDeactivateMany)
}

// DevDeactivate is dev_deactivate(): dev_deactivate_many on a list of
// one, as linkwatch calls it when an up device loses its carrier.
func (r Runner) DevDeactivate(k *kernel.Kernel, dev *core.Device) {
	k.Call(fnDevDeactivate)
	r.DevDeactivateMany(k, dev)
	k.RetVoid(fnDevDeactivate)
}

// DevActivate is dev_activate(): with carrier, the configured qdisc
// replaces noop_qdisc again (transition_one_qdisc); without, activation
// waits for linkwatch's carrier-on event.
func (Runner) DevActivate(k *kernel.Kernel, dev *core.Device) {
	k.Call(fnDevActivate)
	switch {
	case dev.NoCarrier:
		k.Note(trace.State, dev.Name+" has no carrier yet: noop_qdisc stays until linkwatch sees it come up")
	case dev.QdiscSleeping != nil:
		k.Call(fnTransitionOneQdisc).Note = dev.QdiscSleeping.Kind() + " is the queue again"
		dev.Qdisc, dev.QdiscSleeping = dev.QdiscSleeping, nil
		k.RetVoid(fnTransitionOneQdisc)
	}
	k.RetVoid(fnDevActivate)
}

var (
	fnQdiscEnqueue       = kernel.NewFn("qdisc_enqueue", schGenericH, "qdisc")
	fnQdiscDrop          = kernel.NewFn("qdisc_drop", schGenericH, "qdisc")
	fnQdiscDequeueHead   = kernel.NewFn("qdisc_dequeue_head", schGenericH, "qdisc")
	fnQdiscDequeuePeeked = kernel.NewFn("qdisc_dequeue_peeked", schGenericH, "qdisc")
)

const schGenericH = "include/net/sch_generic.h"

// qdiscDrop is qdisc_drop(): count the drop and free the skb with
// SKB_DROP_REASON_QDISC_DROP, the reason __dev_xmit_skb sets before it
// enqueues. The kernel defers the free to the end of __dev_xmit_skb
// (the to_free list); the model frees at once.
func qdiscDrop(k *kernel.Kernel, s *skb.SKB, b *Base) core.NetXmit {
	k.Call(fnQdiscDrop, s)
	b.Dropped++
	core.KfreeSkbReason(k, s, skb.QdiscDrop)
	return kernel.Ret(k, fnQdiscDrop, core.NetXmitDrop)
}

// PktLen is qdisc_pkt_len(): the bytes a qdisc accounts for an skb (the
// whole frame, Ethernet header included; no GSO here).
func PktLen(s *skb.SKB) int { return s.Len() }

// Stats returns what `tc -s qdisc show dev DEV` prints for a qdisc, as
// named values a view can tabulate.
func (b *Base) Stats(kind string) []trace.Field {
	f := func(name string, v any) trace.Field { return trace.Field{Name: name, Value: fmt.Sprint(v)} }
	return []trace.Field{
		f("qdisc", kind), f("sent_bytes", b.Bytes), f("sent_pkts", b.Sent),
		f("dropped", b.Dropped), f("overlimits", b.Overlimits), f("requeues", b.Requeues),
		f("backlog_bytes", b.Backlog), f("backlog_pkts", b.QLen),
	}
}

// TcLine is the statistics line of `tc -s qdisc`.
func (b *Base) TcLine() string {
	return fmt.Sprintf("Sent %d bytes %d pkt (dropped %d, overlimits %d requeues %d) backlog %db %dp",
		b.Bytes, b.Sent, b.Dropped, b.Overlimits, b.Requeues, b.Backlog, b.QLen)
}

// withStats puts the qdisc's statistics on a dequeue's ret event, so the
// trace says at every step what `tc -s qdisc` would print.
func withStats(e *trace.Event, q discipline) {
	e.Vals = q.base().Stats(q.Kind())
	if e.Note == "" {
		e.Note = q.Kind() + ": " + q.base().TcLine()
	}
}
