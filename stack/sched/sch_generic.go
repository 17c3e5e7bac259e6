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
)

// discipline is what a qdisc in this package provides beyond core.Qdisc.
type discipline interface {
	core.Qdisc
	base() *Base
	dequeue(k *kernel.Kernel) *skb.SKB
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
		devRequeueSkb(k, s, q)
		return kernel.Ret(k, fnSchDirectXmit, false)
	}
	if d, ok := q.(discipline); ok {
		d.base().Sent++
		d.base().Bytes += sent
	}
	return kernel.Ret(k, fnSchDirectXmit, true)
}

// devRequeueSkb is dev_requeue_skb(): put the skb back at the head of
// q->gso_skb for the next run.
func devRequeueSkb(k *kernel.Kernel, s *skb.SKB, q core.Qdisc) {
	k.Call(fnDevRequeueSkb, s)
	if d, ok := q.(discipline); ok {
		b := d.base()
		b.gsoSkb = append([]*skb.SKB{s}, b.gsoSkb...)
		b.Requeues++
		b.QLen++
		b.Backlog += PktLen(s)
		k.Enqueue(q.Kind()+" gso_skb", len(b.gsoSkb), s)
	}
	k.RetVoid(fnDevRequeueSkb)
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
