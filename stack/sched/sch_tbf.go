package sched

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const schTbfC = "net/sched/sch_tbf.c"

var (
	fnTbfEnqueue = kernel.NewFn("tbf_enqueue", schTbfC, "qdisc")
	fnTbfDequeue = kernel.NewFn("tbf_dequeue", schTbfC, "qdisc")
)

// Tbf is the token bucket filter. Tokens are kept as the kernel keeps
// them: in nanoseconds of transmission time at the configured rate. The
// bucket holds at most buffer ns (the burst); each packet costs its
// length's time at rate; a packet that costs more than the bucket holds
// waits in the inner bfifo and the qdisc's watchdog wakes it later.
type Tbf struct {
	Base
	RateBps int64 // rate in bit/s
	Burst   int   // bucket size in bytes
	Limit   int   // bytes the inner bfifo may hold
	MaxSize int   // the largest packet the bucket can ever pay for
	buffer  int64 // burst as ns at rate
	tokens  int64 // ns
	tC      int64 // time of the last dequeue (q->t_c)
	inner   *Fifo
	wd      watchdog
}

// PschedL2tNs is psched_l2t_ns(): how long len bytes take at rate bit/s.
func PschedL2tNs(rateBps int64, n int) int64 {
	return int64(n) * 8 * 1_000_000_000 / rateBps
}

// pschedNsT2l is psched_ns_t2l(): how many bytes ns buys at rate bit/s.
func pschedNsT2l(rateBps int64, ns int64) int {
	return int(ns * rateBps / 8 / 1_000_000_000)
}

// TbfLimit is how tc turns `latency` into the limit the kernel gets: the
// bytes rate drains in latency, plus the burst.
func TbfLimit(rateBps int64, burst int, latencyNs int64) int {
	// in float, as tc does: rate × latency overflows int64 at 100gbit × 10 s
	return int(float64(rateBps)/8*float64(latencyNs)/1e9) + burst
}

// NewTbf attaches tbf to dev as tbf_init and tbf_change set it up: a full
// bucket, and a bfifo child of limit bytes.
func NewTbf(k *kernel.Kernel, dev *core.Device, rateBps int64, burst, limit int) (*Tbf, error) {
	if rateBps <= 0 || burst <= 0 || limit < 0 {
		return nil, fmt.Errorf("tbf: rate, burst and limit must be positive")
	}
	q := &Tbf{Base: Base{Dev: dev}, RateBps: rateBps, Burst: burst, Limit: limit}
	q.buffer = PschedL2tNs(rateBps, burst)
	q.MaxSize = pschedNsT2l(rateBps, q.buffer)
	if q.MaxSize == 0 {
		return nil, fmt.Errorf("tbf: burst %d bytes is no time at %d bit/s (EINVAL)", burst, rateBps)
	}
	q.tokens = q.buffer
	q.tC = k.Now()
	q.inner = NewBfifo(dev, max(limit, 1))
	q.inner.Limit = limit
	q.inner.inner = true
	return q, nil
}

// Kind is "tbf".
func (*Tbf) Kind() string { return "tbf" }

// CanEnqueue is true.
func (*Tbf) CanEnqueue() bool { return true }

// CanBypass is false: a shaper must see every packet.
func (*Tbf) CanBypass() bool { return false }

// NoLock is false.
func (*Tbf) NoLock() bool { return false }

// Empty is qlen == 0.
func (q *Tbf) Empty() bool { return len(q.gsoSkb) == 0 && q.QLen == 0 }

// WatchdogFired says how many times the watchdog rescheduled the qdisc.
func (q *Tbf) WatchdogFired() int { return q.wd.Fired }

// Tokens is the bucket's content in ns at rate, as of the last dequeue.
func (q *Tbf) Tokens() int64 { return q.tokens }

// Enqueue is tbf_enqueue(): too big for the bucket is dropped; the rest
// goes to the inner bfifo, which drops past limit bytes.
func (q *Tbf) Enqueue(k *kernel.Kernel, s *skb.SKB) core.NetXmit {
	n := PktLen(s)
	k.Call(fnTbfEnqueue, s).Note = fmt.Sprintf("%d bytes; max_size %d", n, q.MaxSize)
	if n > q.MaxSize {
		return kernel.Ret(k, fnTbfEnqueue, qdiscDrop(k, s, &q.Base))
	}
	k.Call(fnQdiscEnqueue, s)
	ret := kernel.Ret(k, fnQdiscEnqueue, q.inner.Enqueue(k, s))
	if ret != core.NetXmitSuccess {
		if ret == core.NetXmitDrop { // net_xmit_drop_count
			q.Dropped++
		}
		return kernel.Ret(k, fnTbfEnqueue, ret)
	}
	q.Backlog += n
	q.QLen++
	return kernel.Ret(k, fnTbfEnqueue, core.NetXmitSuccess)
}

func (q *Tbf) dequeue(k *kernel.Kernel) *skb.SKB {
	e := k.Call(fnTbfDequeue)
	s := q.inner.peek()
	if s == nil {
		e.Note = "nothing queued"
		withStats(k.RetS(fnTbfDequeue, "NULL"), q)
		return nil
	}
	n := PktLen(s)
	now := k.Now()
	toks := min(now-q.tC, q.buffer) + q.tokens
	toks = min(toks, q.buffer)
	cost := PschedL2tNs(q.RateBps, n)
	toks -= cost
	e.Note = fmt.Sprintf("bucket holds %.3f ms of tokens (at most %.3f); the next skb, %d bytes, costs %.3f ms",
		float64(toks+cost)/1e6, float64(q.buffer)/1e6, n, float64(cost)/1e6)
	if toks >= 0 {
		k.Call(fnQdiscDequeuePeeked)
		s = q.inner.dequeue(k)
		kernel.Ret(k, fnQdiscDequeuePeeked, s, s)
		q.tC = now
		q.tokens = toks
		q.Backlog -= n
		q.QLen--
		r := k.RetS(fnTbfDequeue, "skb", s)
		withStats(r, q)
		return s
	}
	q.Overlimits++
	qdiscWatchdogScheduleNs(k, &q.wd, q, q.Dev, now-toks)
	r := k.RetS(fnTbfDequeue, "NULL")
	r.Note = fmt.Sprintf("out of tokens: %d bytes wait %.3f ms (overlimits %d)", n, float64(-toks)/1e6, q.Overlimits)
	withStats(r, q)
	return nil
}

// reset is tbf_reset(): empty the inner qdisc, fill the bucket, cancel
// the watchdog.
func (q *Tbf) reset(k *kernel.Kernel) {
	q.inner.reset(k)
	q.QLen, q.Backlog = 0, 0
	q.tokens, q.tC = q.buffer, k.Now()
	q.wd.pending = false
	q.wd.gen++
}
