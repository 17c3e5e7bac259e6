package kernel

import (
	"fmt"
	"strconv"

	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// Fn names a kernel function and where it lives, for the trace.
type Fn struct {
	Name  string
	File  string // source file in the 6.12 tree
	Layer string // the stack map's lane: socket, udp, ip, netfilter, neigh, dev, qdisc, driver, ...
	Cost  int64  // virtual ns the function's own work takes
}

// DefaultCost is the virtual time one traced function takes when nothing
// more specific is known: the order of a short kernel function on a
// current x86 core.
const DefaultCost = 40

// NewFn describes a function with the default cost. Functions are
// declared as package variables, each NewFn with the name as a literal:
// web/explain's tests find them all in the source, so no registry costs
// app.wasm init code (inlined, a NewFn is laid out statically).
func NewFn(name, file, layer string) *Fn {
	return &Fn{Name: name, File: file, Layer: layer, Cost: DefaultCost}
}

// recorder appends events and stores skb snapshots only when an skb has
// changed since its last one.
type recorder struct {
	t    trace.Trace
	last map[int]int // skb id -> index of its latest snapshot
	// chunks hold the events as they are recorded. A chunk never grows
	// past its capacity, so the *trace.Event a caller keeps (to fill in
	// a note after recording more events) stays valid; trace() copies
	// them into t.Events.
	chunks [][]trace.Event
	n      int
}

// chunkLen is how many events a chunk holds.
const chunkLen = 4096

// add stores e and returns where it lives.
func (r *recorder) add(e trace.Event) *trace.Event {
	if len(r.chunks) == 0 || len(r.chunks[len(r.chunks)-1]) == chunkLen {
		r.chunks = append(r.chunks, make([]trace.Event, 0, chunkLen))
	}
	c := &r.chunks[len(r.chunks)-1]
	*c = append(*c, e)
	r.n++
	return &(*c)[len(*c)-1]
}

// trace returns the trace with every event recorded so far.
func (r *recorder) trace() *trace.Trace {
	if len(r.t.Events) != r.n {
		r.t.Events = make([]trace.Event, 0, r.n)
		for _, c := range r.chunks {
			r.t.Events = append(r.t.Events, c...)
		}
	} else {
		// Notes may have been filled in since the last copy.
		i := 0
		for _, c := range r.chunks {
			i += copy(r.t.Events[i:], c)
		}
	}
	return &r.t
}

func (r *recorder) snap(s *skb.SKB) int {
	if i, ok := r.last[s.ID]; ok && s.Matches(&r.t.Snaps[i]) {
		return i
	}
	r.t.Snaps = append(r.t.Snaps, s.Snapshot())
	i := len(r.t.Snaps) - 1
	r.last[s.ID] = i
	return i
}

// Event records one event in the current context and returns it so the
// caller can fill kind-specific fields.
func (k *Kernel) Event(kind trace.Kind, f *Fn, skbs ...*skb.SKB) *trace.Event {
	r := &k.Sim.rec
	cpu := k.CPU()
	e := trace.Event{
		Seq:  r.n,
		T:    k.Now(),
		Host: k.Name,
		CPU:  cpu.ID,
		Ctx:  cpu.ctxS,
		Kind: kind,
		Up:   -1,
	}
	if k.cur == nil {
		e.Ctx = "hw"
		e.CPU = -1
	} else if n := len(cpu.stack); n > 0 {
		e.Up = cpu.stack[n-1]
		e.Depth = n
	}
	if f != nil {
		e.Fn, e.File, e.Layer = f.Name, f.File, f.Layer
	}
	for _, s := range skbs {
		if s == nil {
			continue
		}
		e.Skb = append(e.Skb, s.ID)
		e.Snap = append(e.Snap, r.snap(s))
	}
	return r.add(e)
}

// Call records entry into f and makes it the innermost frame.
func (k *Kernel) Call(f *Fn, skbs ...*skb.SKB) *trace.Event {
	e := k.Event(trace.Call, f, skbs...)
	k.Spend(f.Cost)
	c := k.CPU()
	c.stack = append(c.stack, e.Seq)
	if k.Bug != nil && k.Bug.Fn == f.Name && k.cur != nil { // BUG() runs on a CPU, never while a scenario is built
		k.bug(f, skbs)
	}
	return e
}

// RetS records the return from f with a value already in kernel notation.
func (k *Kernel) RetS(f *Fn, ret string, skbs ...*skb.SKB) *trace.Event {
	// The ret is recorded inside its own frame: Up is the matching call.
	e := k.Event(trace.Ret, f, skbs...)
	e.Ret = ret
	c := k.CPU()
	if n := len(c.stack); n > 0 {
		c.stack = c.stack[:n-1]
	}
	return e
}

// Ret records the return of v from f and hands v back, so a function can
// end in `return kernel.Ret(k, fn, v)`. Errnos, NET_XMIT and NETDEV_TX
// codes print by their kernel names.
func Ret[T any](k *Kernel, f *Fn, v T, skbs ...*skb.SKB) T {
	k.RetS(f, valueString(v), skbs...)
	return v
}

// RetVoid records the return of a void function.
func (k *Kernel) RetVoid(f *Fn, skbs ...*skb.SKB) { k.RetS(f, "", skbs...) }

func valueString(v any) string {
	switch x := v.(type) {
	case fmt.Stringer:
		return x.String()
	case int:
		return strconv.Itoa(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case *skb.SKB:
		if x == nil {
			return "NULL"
		}
		return "skb"
	}
	return fmt.Sprint(v)
}

// Enqueue records skb joining a queue of qlen items (after the change).
func (k *Kernel) Enqueue(queue string, qlen int, s *skb.SKB) *trace.Event {
	e := k.Event(trace.Enqueue, nil, s)
	e.Queue, e.QLen = queue, qlen
	return e
}

// Dequeue records skb leaving a queue.
func (k *Kernel) Dequeue(queue string, qlen int, s *skb.SKB) *trace.Event {
	e := k.Event(trace.Dequeue, nil, s)
	e.Queue, e.QLen = queue, qlen
	return e
}

// Note records a decision or state change in plain words.
func (k *Kernel) Note(kind trace.Kind, note string, skbs ...*skb.SKB) *trace.Event {
	e := k.Event(kind, nil, skbs...)
	e.Note = note
	return e
}

// Depth is how many calls are open on the current CPU (for tests).
func (k *Kernel) Depth() int { return len(k.CPU().stack) }
