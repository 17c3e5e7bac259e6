package sched

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

var fnCodelDequeue = kernel.NewFn("codel_dequeue", "include/net/codel_impl.h", "qdisc")

// codelShouldDrop is codel_should_drop(): has the sojourn time stayed
// above target for a whole interval (with more than an MTU queued)?
func (q *FqCodel) codelShouldDrop(e *codelEntry, v *codelVars, now int64) bool {
	if e == nil {
		v.firstAboveTime = 0
		return false
	}
	v.ldelay = max(now-e.enqueued, 0)
	q.maxpacket = max(q.maxpacket, PktLen(e.skb))
	if v.ldelay < q.params.target || q.Backlog <= q.params.mtu {
		v.firstAboveTime = 0
		return false
	}
	if v.firstAboveTime == 0 {
		v.firstAboveTime = now + q.params.interval
		return false
	}
	return now > v.firstAboveTime
}

// codelDequeue is codel_dequeue() on one fq_codel flow: take its head and
// decide, from its sojourn time, whether CoDel enters, stays in or leaves
// the dropping state; drops go through drop_func and the next packet is
// taken instead.
func (q *FqCodel) codelDequeue(k *kernel.Kernel, f *fqFlow) *skb.SKB {
	k.Call(fnCodelDequeue)
	v := &f.cvars
	e := q.dequeueFunc(k, f)
	if e == nil {
		v.dropping = false
		k.RetS(fnCodelDequeue, "NULL").Note = "the flow is empty"
		return nil
	}
	now := codelTime(k.Now())
	drop := q.codelShouldDrop(e, v, now)
	sojourn := func() string { return fmt.Sprintf("sojourn %.3f ms", float64(v.ldelay<<codelShift)/1e6) }
	note := sojourn() + ", target 5 ms"
	if v.dropping {
		if !drop {
			v.dropping = false
			note += ": below target again, leave the dropping state"
		} else if now >= v.dropNext {
			for v.dropping && now >= v.dropNext {
				v.count++
				codelNewtonStep(v)
				q.dropFunc(k, e.skb, sojourn()+fmt.Sprintf(", dropping (count %d)", v.count))
				e = q.dequeueFunc(k, f)
				if !q.codelShouldDrop(e, v, now) {
					v.dropping = false
				} else {
					v.dropNext = codelControlLaw(v.dropNext, q.params.interval, v.recInvSqrt)
				}
			}
		}
	} else if drop {
		q.dropFunc(k, e.skb, sojourn()+" and above target for 100 ms: start dropping")
		e = q.dequeueFunc(k, f)
		q.codelShouldDrop(e, v, now)
		v.dropping = true
		delta := v.count - v.lastcount
		if delta > 1 && now-v.dropNext < 16*q.params.interval {
			v.count = delta
			codelNewtonStep(v)
		} else {
			v.count = 1
			v.recInvSqrt = ^uint16(0)
		}
		v.lastcount = v.count
		v.dropNext = codelControlLaw(now, q.params.interval, v.recInvSqrt)
		note += fmt.Sprintf(": dropping state, next drop in %.3f ms", float64((v.dropNext-now)<<codelShift)/1e6)
	} else if v.firstAboveTime != 0 {
		note += fmt.Sprintf(": above target; drops start if it stays so until %.3f ms", float64(v.firstAboveTime<<codelShift)/1e6)
	}
	if e == nil {
		k.RetS(fnCodelDequeue, "NULL").Note = note + "; the flow is empty now"
		return nil
	}
	k.RetS(fnCodelDequeue, "skb", e.skb).Note = note
	return e.skb
}
