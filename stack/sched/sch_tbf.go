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
// waits in the inner bfifo and the qdisc's watchdog wakes it later. With
// a peakrate a second bucket, of mtu ns at the peak rate (one packet of
// tc's mtu, or minburst), must pay too: it refills at the peak rate, so
// even a full main bucket lets packets out no closer together than
// their length's time at peakrate.
type Tbf struct {
	Base
	RateBps int64 // rate in bit/s
	Burst   int   // bucket size in bytes
	Limit   int   // bytes the inner bfifo may hold
	MaxSize int   // the largest packet the buckets can ever pay for
	PeakBps int64 // peakrate in bit/s; 0 for none
	buffer  int64 // burst as ns at rate
	mtu     int64 // the peak bucket's size: tc's mtu as ns at peakrate
	tokens  int64 // ns
	ptokens int64 // ns at peakrate
	tC      int64 // time of the last dequeue (q->t_c)
	inner   *Fifo
	wd      watchdog
}

// TbfParams are what `tc qdisc … tbf rate R burst B limit L peakrate P
// mtu M` sends: rates in bit/s, sizes in bytes; PeakBps 0 for no peak
// bucket (Mtu is then unused, as tc sends no TCA_TBF_PBURST).
type TbfParams struct {
	RateBps int64
	Burst   int
	Limit   int
	PeakBps int64
	Mtu     int
}

// PschedL2tNs is psched_l2t_ns(): how long len bytes take at rate bit/s.
func PschedL2tNs(rateBps int64, n int) int64 {
	return int64(n) * 8 * 1_000_000_000 / rateBps
}

// TbfLimit is how tc turns `latency` into the limit the kernel gets: the
// bytes rate drains in latency, plus the burst; with a peakrate, the
// smaller of that and the bytes peakrate drains in latency plus mtu.
func TbfLimit(p TbfParams, latencyNs int64) int {
	// in float, as tc does: rate × latency overflows int64 at 100gbit × 10 s
	lim := float64(p.RateBps)/8*float64(latencyNs)/1e9 + float64(p.Burst)
	if p.PeakBps > 0 {
		lim = min(lim, float64(p.PeakBps)/8*float64(latencyNs)/1e9+float64(p.Mtu))
	}
	return int(lim)
}

// NewTbf attaches tbf to dev as tbf_init and tbf_change set it up from
// tc's attributes (TCA_TBF_BURST, and TCA_TBF_PBURST with a peakrate):
// max_size is the burst, or the mtu if smaller; a peakrate not above the
// rate is EINVAL; both buckets start full; the child is a bfifo of limit
// bytes.
func NewTbf(k *kernel.Kernel, dev *core.Device, p TbfParams) (*Tbf, error) {
	if p.RateBps <= 0 || p.Burst <= 0 || p.Limit < 0 || p.PeakBps < 0 {
		return nil, fmt.Errorf("tbf: rate, burst and limit must be positive")
	}
	q := &Tbf{Base: Base{Dev: dev}, RateBps: p.RateBps, Burst: p.Burst, Limit: p.Limit, MaxSize: p.Burst}
	q.buffer = PschedL2tNs(p.RateBps, p.Burst)
	if q.buffer == 0 {
		return nil, fmt.Errorf("tbf: burst %d bytes is no time at %d bit/s (EINVAL)", p.Burst, p.RateBps)
	}
	if p.PeakBps > 0 {
		if p.PeakBps <= p.RateBps {
			return nil, fmt.Errorf("tbf: peakrate %d bit/s is not above rate %d bit/s (EINVAL)", p.PeakBps, p.RateBps)
		}
		if p.Mtu <= 0 {
			return nil, fmt.Errorf("tbf: a peakrate needs an mtu")
		}
		q.PeakBps = p.PeakBps
		q.MaxSize = min(q.MaxSize, p.Mtu)
		q.mtu = PschedL2tNs(p.PeakBps, p.Mtu)
	}
	q.tokens, q.ptokens = q.buffer, q.mtu
	q.tC = k.Now()
	q.inner = NewBfifo(dev, max(p.Limit, 1))
	q.inner.Limit = p.Limit
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

// dequeue is tbf_dequeue(): peek at the inner qdisc's head; the tokens
// earned since the last dequeue (at most a bucket) plus those left must
// pay for it at rate and, with a peakrate, the peak bucket's at
// peakrate. If both can, it leaves and the buckets keep the change; if
// not, the watchdog is set for when the poorer bucket will have enough.
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
	toks := min(now-q.tC, q.buffer)
	var ptoks, pcost int64
	if q.PeakBps > 0 {
		ptoks = min(toks+q.ptokens, q.mtu)
		pcost = PschedL2tNs(q.PeakBps, n)
		ptoks -= pcost
	}
	toks = min(toks+q.tokens, q.buffer)
	cost := PschedL2tNs(q.RateBps, n)
	toks -= cost
	e.Note = fmt.Sprintf("bucket holds %.3f ms of tokens (at most %.3f); the next skb, %d bytes, costs %.3f ms",
		float64(toks+cost)/1e6, float64(q.buffer)/1e6, n, float64(cost)/1e6)
	if q.PeakBps > 0 {
		e.Note += fmt.Sprintf("; peak bucket %.3f ms (at most %.3f), costs %.3f ms at peakrate",
			float64(ptoks+pcost)/1e6, float64(q.mtu)/1e6, float64(pcost)/1e6)
	}
	if toks|ptoks >= 0 {
		k.Call(fnQdiscDequeuePeeked)
		s = q.inner.dequeue(k)
		kernel.Ret(k, fnQdiscDequeuePeeked, s, s)
		q.tC = now
		q.tokens, q.ptokens = toks, ptoks
		q.Backlog -= n
		q.QLen--
		r := k.RetS(fnTbfDequeue, "skb", s)
		withStats(r, q)
		return s
	}
	wait := max(-toks, -ptoks)
	qdiscWatchdogScheduleNs(k, &q.wd, q, q.Dev, now+wait)
	q.Overlimits++
	r := k.RetS(fnTbfDequeue, "NULL")
	which := "out of tokens"
	if -ptoks > -toks {
		which = "out of peak tokens"
	}
	r.Note = fmt.Sprintf("%s: %d bytes wait %.3f ms (overlimits %d)", which, n, float64(wait)/1e6, q.Overlimits)
	withStats(r, q)
	return nil
}

// reset is tbf_reset(): empty the inner qdisc, fill the buckets, cancel
// the watchdog.
func (q *Tbf) reset(k *kernel.Kernel) {
	q.inner.reset(k)
	q.QLen, q.Backlog = 0, 0
	q.tokens, q.ptokens, q.tC = q.buffer, q.mtu, k.Now()
	q.wd.pending = false
	q.wd.gen++
}
