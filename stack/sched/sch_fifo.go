package sched

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const schFifoC = "net/sched/sch_fifo.c"

var (
	fnPfifoEnqueue = kernel.NewFn("pfifo_enqueue", schFifoC, "qdisc")
	fnBfifoEnqueue = kernel.NewFn("bfifo_enqueue", schFifoC, "qdisc")
)

// Fifo is pfifo (a limit in packets) or bfifo (a limit in bytes): one
// tail-drop queue. tbf uses a bfifo as its inner qdisc.
type Fifo struct {
	Base
	ByteLimit bool // bfifo: the limit counts bytes
	Limit     int  // sch->limit: packets for pfifo, bytes for bfifo
	name      string
	inner     bool // tbf's child: its parent reports the statistics
	q         []*skb.SKB
}

// psched_mtu(): the largest frame the device sends, link header included.
func pschedMTU(dev *core.Device) int { return dev.MTU + 14 }

// NewPfifo attaches pfifo to dev. limit 0 is fifo_init's default: the
// device's tx_queue_len (at least 1).
func NewPfifo(dev *core.Device, limit int) *Fifo {
	if limit <= 0 {
		limit = max(dev.TxQueueLen, 1)
	}
	return &Fifo{Base: Base{Dev: dev}, Limit: limit, name: "pfifo"}
}

// NewBfifo attaches bfifo to dev. limit 0 is fifo_init's default:
// tx_queue_len × psched_mtu bytes.
func NewBfifo(dev *core.Device, limit int) *Fifo {
	if limit <= 0 {
		limit = max(dev.TxQueueLen, 1) * pschedMTU(dev)
	}
	return &Fifo{Base: Base{Dev: dev}, ByteLimit: true, Limit: limit, name: "bfifo"}
}

// Kind is "pfifo" or "bfifo".
func (q *Fifo) Kind() string { return q.name }

// CanEnqueue is true.
func (*Fifo) CanEnqueue() bool { return true }

// CanBypass is TCQ_F_CAN_BYPASS as fifo_init sets it: only when the limit
// lets at least one packet (pfifo) or one full-size frame (bfifo) in.
func (q *Fifo) CanBypass() bool {
	if q.ByteLimit {
		return q.Limit >= pschedMTU(q.Dev)
	}
	return q.Limit >= 1
}

// NoLock is false: fifo qdiscs run under the root qdisc lock.
func (*Fifo) NoLock() bool { return false }

// Empty is qdisc_qlen() == 0, requeued skbs included.
func (q *Fifo) Empty() bool { return len(q.gsoSkb) == 0 && len(q.q) == 0 }

// Enqueue is pfifo_enqueue() or bfifo_enqueue(): tail-drop at the limit.
func (q *Fifo) Enqueue(k *kernel.Kernel, s *skb.SKB) core.NetXmit {
	fn := fnPfifoEnqueue
	if q.ByteLimit {
		fn = fnBfifoEnqueue
	}
	e := k.Call(fn, s)
	var fits bool
	if q.ByteLimit {
		fits = q.Backlog+PktLen(s) <= q.Limit
		e.Note = fmt.Sprintf("backlog %d + %d bytes against limit %d bytes", q.Backlog, PktLen(s), q.Limit)
	} else {
		fits = q.QLen < q.Limit
		e.Note = fmt.Sprintf("%d packets queued, limit %d", q.QLen, q.Limit)
	}
	if !fits {
		return kernel.Ret(k, fn, qdiscDrop(k, s, &q.Base))
	}
	q.enqueueTail(k, s)
	return kernel.Ret(k, fn, core.NetXmitSuccess)
}

// enqueueTail is qdisc_enqueue_tail(): append and account the backlog.
func (q *Fifo) enqueueTail(k *kernel.Kernel, s *skb.SKB) {
	q.q = append(q.q, s)
	q.QLen++
	q.Backlog += PktLen(s)
	k.Enqueue(q.queueName(), len(q.q), s)
}

func (q *Fifo) queueName() string {
	if q.inner {
		return "tbf (inner bfifo)"
	}
	return q.name
}

// peek is qdisc_peek_head(): the skb the next dequeue would return.
func (q *Fifo) peek() *skb.SKB {
	if len(q.q) == 0 {
		return nil
	}
	return q.q[0]
}

func (q *Fifo) dequeue(k *kernel.Kernel) *skb.SKB {
	k.Call(fnQdiscDequeueHead)
	if len(q.q) == 0 {
		e := k.RetS(fnQdiscDequeueHead, "NULL")
		if !q.inner {
			withStats(e, q)
		}
		return nil
	}
	s := q.q[0]
	q.q[0] = nil
	q.q = q.q[1:]
	q.QLen--
	q.Backlog -= PktLen(s)
	k.Dequeue(q.queueName(), len(q.q), s)
	e := k.RetS(fnQdiscDequeueHead, "skb", s)
	if !q.inner {
		withStats(e, q)
	}
	return s
}

// reset is qdisc_reset_queue(): free every queued skb.
func (q *Fifo) reset(k *kernel.Kernel) {
	for i, s := range q.q {
		k.Dequeue(q.Kind(), len(q.q)-i-1, s)
		core.KfreeSkbReason(k, s, skb.NotSpecified)
	}
	q.q = nil
	q.QLen, q.Backlog = 0, 0
}
