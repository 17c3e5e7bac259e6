package sched

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const schFqCodelC = "net/sched/sch_fq_codel.c"

var (
	fnFqCodelEnqueue  = kernel.NewFn("fq_codel_enqueue", schFqCodelC, "qdisc")
	fnFqCodelDequeue  = kernel.NewFn("fq_codel_dequeue", schFqCodelC, "qdisc")
	fnFqCodelDrop     = kernel.NewFn("fq_codel_drop", schFqCodelC, "qdisc")
	fnDropFunc        = kernel.NewFn("drop_func", schFqCodelC, "qdisc")
	fnFqCodelClassify = kernel.NewFn("fq_codel_classify", schFqCodelC, "qdisc")
	fnFqCodelHash     = kernel.NewFn("fq_codel_hash", schFqCodelC, "qdisc")
)

// fq_codel's defaults (fq_codel_init).
const (
	FqCodelLimit       = 10240
	FqCodelFlows       = 1024
	FqCodelMemoryLimit = 32 << 20
	fqCodelDropBatch   = 64
)

// codelEntry is a queued skb with what fq_codel keeps in its cb: the
// enqueue time and the memory it accounts (skb->truesize).
type codelEntry struct {
	skb      *skb.SKB
	enqueued int64 // codel time
	mem      int
}

// fqFlow is struct fq_codel_flow.
type fqFlow struct {
	q       []codelEntry
	deficit int
	listed  bool // on new_flows or old_flows (flowchain not empty)
	idx     int
	cvars   codelVars
}

// FqCodel is fq_codel: packets hashed by their 5-tuple into flows, flows
// served round robin with a byte quantum (new flows first), and CoDel
// watching each flow's sojourn time.
type FqCodel struct {
	Base
	Limit       int // packets
	MemoryLimit int
	Quantum     int
	FlowsCnt    int
	params      codelParams
	flows       []fqFlow
	backlogs    []int
	newFlows    []int // flow indices, head first
	oldFlows    []int
	memoryUsage int
	// the counters `tc -s qdisc` prints for fq_codel
	maxpacket, dropOverlimit, dropOvermemory, newFlowCount, ecnMark int
	CodelDrops                                                      int
}

// NewFqCodel attaches fq_codel to dev with the kernel's defaults. It has
// no hash seed of its own: flows come from skb_get_hash, keyed by the
// host's hashrnd (core.Net.HashRnd).
func NewFqCodel(dev *core.Device) *FqCodel {
	q := &FqCodel{
		Base:        Base{Dev: dev},
		Limit:       FqCodelLimit,
		MemoryLimit: FqCodelMemoryLimit,
		Quantum:     pschedMTU(dev),
		FlowsCnt:    FqCodelFlows,
		params:      codelParams{target: ms2time(codelDefaultTgtMs), interval: ms2time(codelDefaultIntMs), mtu: pschedMTU(dev)},
	}
	q.flows = make([]fqFlow, q.FlowsCnt)
	q.backlogs = make([]int, q.FlowsCnt)
	for i := range q.flows {
		q.flows[i].idx = i
	}
	return q
}

// Kind is "fq_codel".
func (*FqCodel) Kind() string { return "fq_codel" }

// CanEnqueue is true.
func (*FqCodel) CanEnqueue() bool { return true }

// CanBypass is false.
func (*FqCodel) CanBypass() bool { return false }

// NoLock is false.
func (*FqCodel) NoLock() bool { return false }

// Empty is qlen == 0.
func (q *FqCodel) Empty() bool { return len(q.gsoSkb) == 0 && q.QLen == 0 }

// FlowOf is the flow an skb hashes to (what fq_codel_classify picks),
// counted from 0 as the flows array is.
func (q *FqCodel) FlowOf(k *kernel.Kernel, s *skb.SKB) int { return q.classify(k, s) - 1 }

func flowName(i int) string { return fmt.Sprintf("fq_codel flow %d", i) }

// classify is fq_codel_classify() without filters or a priority that
// names a flow: fq_codel_hash, plus one (0 means "drop" to its caller).
func (q *FqCodel) classify(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnFqCodelClassify, s)
	return kernel.Ret(k, fnFqCodelClassify, q.hash(k, s)+1, s)
}

// hash is fq_codel_hash(): reciprocal_scale(skb_get_hash(skb),
// flows_cnt), the high bits of hash × flows_cnt.
func (q *FqCodel) hash(k *kernel.Kernel, s *skb.SKB) int {
	e := k.Call(fnFqCodelHash, s)
	h := core.SkbGetHash(k, q.Dev.Net, s)
	idx := int((uint64(h) * uint64(q.FlowsCnt)) >> 32)
	e.Note = fmt.Sprintf("reciprocal_scale(%#08x, %d) = %d", h, q.FlowsCnt, idx)
	return kernel.Ret(k, fnFqCodelHash, idx, s)
}

// Enqueue is fq_codel_enqueue(): stamp the time, add to the flow, put a
// newly active flow on new_flows; past the packet or memory limit, drop
// from the fattest flow (fq_codel_drop) and say NET_XMIT_CN if that was
// this packet's own flow.
func (q *FqCodel) Enqueue(k *kernel.Kernel, s *skb.SKB) core.NetXmit {
	e := k.Call(fnFqCodelEnqueue, s)
	idx := q.classify(k, s) - 1
	n := PktLen(s)
	e.Note = fmt.Sprintf("flow hash → flow %d", idx)
	f := &q.flows[idx]
	f.q = append(f.q, codelEntry{skb: s, enqueued: codelTime(k.Now()), mem: s.Truesize})
	k.Enqueue(flowName(idx), len(f.q), s)
	q.backlogs[idx] += n
	q.Backlog += n
	if !f.listed {
		f.listed = true
		q.newFlows = append(q.newFlows, idx)
		q.newFlowCount++
		f.deficit = q.Quantum
		k.Note(trace.State, fmt.Sprintf("flow %d was idle: it joins new_flows with a quantum of %d bytes", idx, q.Quantum), s)
	}
	q.memoryUsage += s.Truesize
	memoryLimited := q.memoryUsage > q.MemoryLimit
	q.QLen++
	if q.QLen <= q.Limit && !memoryLimited {
		return kernel.Ret(k, fnFqCodelEnqueue, core.NetXmitSuccess)
	}
	prevQLen := q.QLen
	dropped := q.fqCodelDrop(k, fqCodelDropBatch)
	prevQLen -= q.QLen
	q.dropOverlimit += prevQLen
	if memoryLimited {
		q.dropOvermemory += prevQLen
	}
	if dropped == idx {
		return kernel.Ret(k, fnFqCodelEnqueue, core.NetXmitCN)
	}
	return kernel.Ret(k, fnFqCodelEnqueue, core.NetXmitSuccess)
}

// fqCodelDrop is fq_codel_drop(): find the flow with the largest backlog
// and drop from its head, up to half its bytes or maxPackets packets.
func (q *FqCodel) fqCodelDrop(k *kernel.Kernel, maxPackets int) int {
	idx, maxBacklog := 0, 0
	for i, b := range q.backlogs {
		if b > maxBacklog {
			idx, maxBacklog = i, b
		}
	}
	threshold := maxBacklog >> 1
	k.Call(fnFqCodelDrop).Note = fmt.Sprintf("over the limit: flow %d is the fattest (%d bytes); drop from its head until %d bytes are gone", idx, maxBacklog, threshold)
	f := &q.flows[idx]
	n, mem, i := 0, 0, 0
	for len(f.q) > 0 {
		e := f.q[0]
		f.q = f.q[1:]
		k.Dequeue(flowName(idx), len(f.q), e.skb)
		n += PktLen(e.skb)
		mem += e.mem
		core.KfreeSkbReason(k, e.skb, skb.QdiscDrop)
		i++
		if i >= maxPackets || n >= threshold {
			break
		}
	}
	q.Dropped += i
	q.backlogs[idx] -= n
	q.memoryUsage -= mem
	q.Backlog -= n
	q.QLen -= i
	k.RetS(fnFqCodelDrop, fmt.Sprint(idx))
	return idx
}

// dequeueFunc is fq_codel's dequeue_func(): the head of a flow, with the
// accounting undone.
func (q *FqCodel) dequeueFunc(k *kernel.Kernel, f *fqFlow) *codelEntry {
	if len(f.q) == 0 {
		return nil
	}
	e := f.q[0]
	f.q = f.q[1:]
	idx := f.idx
	n := PktLen(e.skb)
	q.backlogs[idx] -= n
	q.memoryUsage -= e.mem
	q.QLen--
	q.Backlog -= n
	k.Dequeue(flowName(idx), len(f.q), e.skb)
	return &e
}

// dropFunc is fq_codel's drop_func(): CoDel's drop. In 6.12 it calls
// kfree_skb() without a reason, so the tracepoint says NOT_SPECIFIED.
func (q *FqCodel) dropFunc(k *kernel.Kernel, s *skb.SKB, why string) {
	k.Call(fnDropFunc, s).Note = why + "; kfree_skb() gives no reason in 6.12 (later kernels say SKB_DROP_REASON_QDISC_CONGESTED)"
	core.KfreeSkbReason(k, s, skb.NotSpecified)
	q.Dropped++
	q.CodelDrops++
	k.RetVoid(fnDropFunc, s)
}

func (q *FqCodel) dequeue(k *kernel.Kernel) *skb.SKB {
	k.Call(fnFqCodelDequeue)
	for {
		head, isNew := &q.oldFlows, false
		if len(q.newFlows) > 0 {
			head, isNew = &q.newFlows, true
		} else if len(q.oldFlows) == 0 {
			r := k.RetS(fnFqCodelDequeue, "NULL")
			q.withStats(r)
			return nil
		}
		idx := (*head)[0]
		f := &q.flows[idx]
		if f.deficit <= 0 {
			f.deficit += q.Quantum
			*head = (*head)[1:]
			q.oldFlows = append(q.oldFlows, idx)
			k.Note(trace.State, fmt.Sprintf("flow %d used its quantum: +%d bytes, to the tail of old_flows", idx, q.Quantum))
			continue
		}
		s := q.codelDequeue(k, f)
		if s == nil {
			*head = (*head)[1:]
			if isNew && len(q.oldFlows) > 0 {
				q.oldFlows = append(q.oldFlows, idx)
				k.Note(trace.State, fmt.Sprintf("flow %d is empty: to old_flows, so it cannot come back as new at once", idx))
			} else {
				f.listed = false
				k.Note(trace.State, fmt.Sprintf("flow %d is empty: off the lists", idx))
			}
			continue
		}
		f.deficit -= PktLen(s)
		r := k.RetS(fnFqCodelDequeue, "skb", s)
		list := "old_flows"
		if isNew {
			list = "new_flows"
		}
		r.Note = fmt.Sprintf("flow %d (from %s), deficit now %d", idx, list, f.deficit)
		q.withStats(r)
		return s
	}
}

// withStats adds fq_codel's own counters to the tc statistics.
func (q *FqCodel) withStats(e *trace.Event) {
	withStats(e, q)
	f := func(name string, v any) trace.Field { return trace.Field{Name: name, Value: fmt.Sprint(v)} }
	e.Vals = append(e.Vals, f("maxpacket", q.maxpacket), f("drop_overlimit", q.dropOverlimit),
		f("new_flow_count", q.newFlowCount), f("ecn_mark", q.ecnMark),
		f("new_flows_len", len(q.newFlows)), f("old_flows_len", len(q.oldFlows)))
}

// reset is fq_codel_reset(): free every flow's skbs and forget the flows.
func (q *FqCodel) reset(k *kernel.Kernel) {
	for i := range q.flows {
		f := &q.flows[i]
		for _, e := range f.q {
			core.KfreeSkbReason(k, e.skb, skb.NotSpecified)
		}
		*f = fqFlow{idx: f.idx}
		q.backlogs[i] = 0
	}
	q.newFlows, q.oldFlows = nil, nil
	q.memoryUsage, q.QLen, q.Backlog = 0, 0, 0
}
