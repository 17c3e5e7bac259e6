package ipv4

import (
	"fmt"
	"net/netip"
	"slices"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const inetFragmentC = "net/ipv4/inet_fragment.c"

var (
	fnInetFragFind        = kernel.NewFn("inet_frag_find", inetFragmentC, "ip")
	fnInetFragQueueInsert = kernel.NewFn("inet_frag_queue_insert", inetFragmentC, "ip")
	fnInetFragKill        = kernel.NewFn("inet_frag_kill", inetFragmentC, "ip")
	fnInetFragDestroy     = kernel.NewFn("inet_frag_destroy", inetFragmentC, "ip")
)

// Defaults of the reassembly sysctls (net.ipv4.ipfrag_*).
const (
	ipfragTimeNs     = 30_000_000_000 // ipfrag_time: 30 s
	ipfragHighThresh = 4 << 20        // ipfrag_high_thresh: 4 MiB
)

// Results of inet_frag_queue_insert.
const (
	ipfragOK = iota
	ipfragDup
	ipfragOverlap
)

// ipq is struct ipq with its struct inet_frag_queue: the fragments of
// one datagram, keyed by addresses, IP ID and protocol, waiting for the
// rest.
type ipq struct {
	saddr, daddr netip.Addr
	id           uint16
	proto        uint8
	name         string // the queue's name in the trace

	// runs is the rb_fragments tree in offset order: each node a run of
	// fragments that arrived in order, each one continuing the last.
	runs []*fragRun

	length int // q.len: where the datagram ends, as far as known
	meat   int // q.meat: bytes received
	mem    int // truesize charged to ipfrag memory

	firstIn, lastIn, complete, drop bool // INET_FRAG_FIRST_IN, LAST_IN, COMPLETE, DROP

	maxSize, maxDFSize int // q.max_size, max_df_size: the largest fragments
	iif                int
	held               int // skbs queued
	timer              kernel.Timer
}

// fragRun is a node of rb_fragments with the fragments of its run
// (FRAG_CB(skb)->next_frag).
type fragRun struct {
	off, end int
	skbs     []*skb.SKB
}

// inetFragFind is inet_frag_find() → inet_frag_create: the queue for this
// key, or a new one whose timer (ip_expire) fires after ipfrag_time.
// Above ipfrag_high_thresh of fragment memory there is no new queue.
func (n *Net) inetFragFind(k *kernel.Kernel, saddr, daddr netip.Addr, id uint16, proto uint8) *ipq {
	e := k.Call(fnInetFragFind)
	for _, q := range n.frags {
		if q.saddr == saddr && q.daddr == daddr && q.id == id && q.proto == proto {
			e.Note = "found the queue: " + q.name
			k.RetS(fnInetFragFind, "q")
			return q
		}
	}
	if n.fragMem > ipfragHighThresh {
		e.Note = fmt.Sprintf("fragments hold %d bytes > ipfrag_high_thresh %d: no new queue", n.fragMem, ipfragHighThresh)
		k.RetS(fnInetFragFind, "NULL")
		return nil
	}
	q := &ipq{saddr: saddr, daddr: daddr, id: id, proto: proto,
		name: fmt.Sprintf("ipq %s→%s id %d", saddr, daddr, id)}
	q.timer = kernel.Timer{Name: "ip_expire", Fn: func() { n.ipExpire(k, q) }}
	n.frags = append(n.frags, q)
	e.Note = fmt.Sprintf("inet_frag_create: a new %s, its timer ip_expire in ipfrag_time (%d s)", q.name, ipfragTimeNs/1_000_000_000)
	k.ModTimer(&q.timer, k.Now()+ipfragTimeNs)
	k.RetS(fnInetFragFind, "q")
	return q
}

// inetFragQueueInsert is inet_frag_queue_insert(): put the fragment
// [offset, end) in place. A fragment after the last one is the common
// case: it extends the last run, or starts a new one past a gap. Any
// other is searched for among the runs: inside a run it is a duplicate;
// touching bytes already held in any other way it is an overlap, which
// (RFC 5722) condemns the whole datagram.
func (n *Net) inetFragQueueInsert(k *kernel.Kernel, q *ipq, s *skb.SKB, offset, end int) int {
	e := k.Call(fnInetFragQueueInsert, s)
	ret := func(r int, name, note string) int {
		e.Note = note
		k.RetS(fnInetFragQueueInsert, name)
		return r
	}
	if len(q.runs) == 0 {
		q.runs = append(q.runs, &fragRun{off: offset, end: end, skbs: []*skb.SKB{s}})
		return ret(ipfragOK, "IPFRAG_OK", fmt.Sprintf("the first fragment to arrive: bytes %d-%d", offset, end))
	}
	last := q.runs[len(q.runs)-1]
	if last.end < end {
		switch {
		case offset < last.end:
			return ret(ipfragOverlap, "IPFRAG_OVERLAP", fmt.Sprintf("bytes %d-%d overlap the last fragment, which ends at %d", offset, end, last.end))
		case offset == last.end:
			last.skbs = append(last.skbs, s)
			last.end = end
			return ret(ipfragOK, "IPFRAG_OK", fmt.Sprintf("bytes %d-%d continue the last run (%d-%d)", offset, end, last.off, end))
		}
		q.runs = append(q.runs, &fragRun{off: offset, end: end, skbs: []*skb.SKB{s}})
		return ret(ipfragOK, "IPFRAG_OK", fmt.Sprintf("bytes %d-%d after a gap: a new run", offset, end))
	}
	i := 0
	for ; i < len(q.runs); i++ {
		r := q.runs[i]
		if end <= r.off {
			break
		}
		if offset >= r.end {
			continue
		}
		if offset >= r.off && end <= r.end {
			return ret(ipfragDup, "IPFRAG_DUP", fmt.Sprintf("bytes %d-%d are already here (run %d-%d)", offset, end, r.off, r.end))
		}
		return ret(ipfragOverlap, "IPFRAG_OVERLAP", fmt.Sprintf("bytes %d-%d overlap the run %d-%d", offset, end, r.off, r.end))
	}
	q.runs = slices.Insert(q.runs, i, &fragRun{off: offset, end: end, skbs: []*skb.SKB{s}})
	return ret(ipfragOK, "IPFRAG_OK", fmt.Sprintf("bytes %d-%d fill a gap: a new run", offset, end))
}

// inetFragKill is inet_frag_kill(): stop the timer and unhash the queue,
// so that no fragment finds it again. Its fragments stay until the last
// reference goes (inetFragDestroy).
func (n *Net) inetFragKill(k *kernel.Kernel, q *ipq) {
	e := k.Call(fnInetFragKill)
	if !q.complete {
		q.complete = true
		k.DelTimer(&q.timer)
		n.frags = slices.DeleteFunc(n.frags, func(x *ipq) bool { return x == q })
		e.Note = q.name + ": INET_FRAG_COMPLETE, timer stopped, unhashed"
	}
	k.RetVoid(fnInetFragKill)
}

// inetFragDestroy is inet_frag_destroy(): free whatever fragments are
// left (inet_frag_rbtree_purge): SKB_DROP_REASON_FRAG_REASM_TIMEOUT when
// the queue was dropped (ip_expire), consumed otherwise.
func (n *Net) inetFragDestroy(k *kernel.Kernel, q *ipq) {
	reason := skb.Consumed
	if q.drop {
		reason = dropFragReasmTimeout
	}
	e := k.Call(fnInetFragDestroy)
	e.Note = fmt.Sprintf("%d fragments left, freed as %s", q.held, reason)
	for _, r := range q.runs {
		for _, s := range r.skbs {
			q.held--
			k.Dequeue(q.name, q.held, s)
			if reason == skb.Consumed {
				core.ConsumeSkb(k, s)
			} else {
				core.KfreeSkbReason(k, s, reason)
			}
		}
	}
	q.runs = nil
	n.fragMem -= q.mem
	q.mem = 0
	k.RetVoid(fnInetFragDestroy)
}
