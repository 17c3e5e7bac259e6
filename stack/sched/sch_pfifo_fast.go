package sched

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

var (
	fnPfifoFastEnqueue = kernel.NewFn("pfifo_fast_enqueue", schGenericC, "qdisc")
	fnPfifoFastDequeue = kernel.NewFn("pfifo_fast_dequeue", schGenericC, "qdisc")
)

// prio2band is sch_default_prio2band: skb->priority (0..15) to band,
// band 0 served first.
var prio2band = [16]int{1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}

// PfifoFast is the pfifo_fast qdisc: three FIFO bands, each as deep as
// the device's tx_queue_len, lockless, and bypassable when empty.
type PfifoFast struct {
	Base
	bands [3][]*skb.SKB
}

// NewPfifoFast attaches pfifo_fast to dev.
func NewPfifoFast(dev *core.Device) *PfifoFast { return &PfifoFast{Base: Base{Dev: dev}} }

// Kind is the qdisc's name in `tc qdisc`.
func (*PfifoFast) Kind() string { return "pfifo_fast" }

// CanEnqueue is true: pfifo_fast has an enqueue op.
func (*PfifoFast) CanEnqueue() bool { return true }

// CanBypass is TCQ_F_CAN_BYPASS, set by pfifo_fast_init.
func (*PfifoFast) CanBypass() bool { return true }

// NoLock is TCQ_F_NOLOCK: the bands are lockless skb_arrays.
func (*PfifoFast) NoLock() bool { return true }

// Empty is nolock_qdisc_is_empty: nothing in any band or requeued.
func (q *PfifoFast) Empty() bool {
	return len(q.gsoSkb) == 0 && len(q.bands[0])+len(q.bands[1])+len(q.bands[2]) == 0
}

func bandName(b int) string { return fmt.Sprintf("pfifo_fast band %d", b) }

// Enqueue is pfifo_fast_enqueue(): the band from skb->priority; a full
// band drops the skb (qdisc_drop).
func (q *PfifoFast) Enqueue(k *kernel.Kernel, s *skb.SKB) core.NetXmit {
	band := prio2band[s.Priority&15]
	e := k.Call(fnPfifoFastEnqueue, s)
	e.Note = fmt.Sprintf("skb->priority %d → band %d", s.Priority, band)
	if len(q.bands[band]) >= q.Dev.TxQueueLen {
		q.Dropped++
		core.KfreeSkbReason(k, s, skb.QdiscDrop)
		return kernel.Ret(k, fnPfifoFastEnqueue, core.NetXmitDrop)
	}
	q.bands[band] = append(q.bands[band], s)
	k.Enqueue(bandName(band), len(q.bands[band]), s)
	return kernel.Ret(k, fnPfifoFastEnqueue, core.NetXmitSuccess)
}

func (q *PfifoFast) dequeue(k *kernel.Kernel) *skb.SKB {
	k.Call(fnPfifoFastDequeue)
	for b := range q.bands {
		if len(q.bands[b]) > 0 {
			s := q.bands[b][0]
			q.bands[b] = q.bands[b][1:]
			k.Dequeue(bandName(b), len(q.bands[b]), s)
			return kernel.Ret(k, fnPfifoFastDequeue, s, s)
		}
	}
	return kernel.Ret(k, fnPfifoFastDequeue, (*skb.SKB)(nil))
}

// reset is pfifo_fast_reset(): free every skb in every band.
func (q *PfifoFast) reset(k *kernel.Kernel) {
	for b := range q.bands {
		for i, s := range q.bands[b] {
			k.Dequeue(bandName(b), len(q.bands[b])-i-1, s)
			core.KfreeSkbReason(k, s, skb.NotSpecified)
		}
		q.bands[b] = nil
	}
}
