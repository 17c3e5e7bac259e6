// Package kernel is the simulation engine under every host: virtual time
// in nanoseconds, an event queue, CPUs and the contexts they run in, and
// the trace recorder. Nothing here runs goroutines, reads the wall clock or
// depends on map order: one scenario gives one trace.
package kernel

import (
	"container/heap"
	"math/rand/v2"

	"skbscope/stack/trace"
)

// Sim is one discrete-event simulation shared by all hosts and wires.
type Sim struct {
	now   int64
	seq   uint64
	queue events
	rand  *rand.Rand
	rec   recorder
	hosts []*Kernel
	skbID int
	// Executed counts the events run so far.
	Executed int
	// Limit bounds how many events one Run may execute, so a scenario that
	// never settles cannot hang the page.
	Limit int
}

// NewSim starts an empty simulation with a seeded random source.
func NewSim(seed uint64) *Sim {
	return &Sim{
		rand:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rec:   recorder{last: map[int]int{}},
		Limit: 1_000_000,
	}
}

// Now is the time of the event being executed.
func (s *Sim) Now() int64 { return s.now }

// Rand is the simulation's only source of randomness.
func (s *Sim) Rand() *rand.Rand { return s.rand }

// NextSkbID names a new sk_buff.
func (s *Sim) NextSkbID() int {
	s.skbID++
	return s.skbID
}

// Trace returns what has been recorded so far.
func (s *Sim) Trace() *trace.Trace { return s.rec.trace() }

// event is a scheduled piece of work: on a CPU in a context, or on
// hardware (cpu nil).
type event struct {
	t   int64
	seq uint64
	cpu *CPU
	ctx Context
	fn  func()
}

type events []*event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].t != e[j].t {
		return e[i].t < e[j].t
	}
	return e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(*event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

func (s *Sim) schedule(t int64, cpu *CPU, ctx Context, fn func()) {
	if t < s.now {
		t = s.now
	}
	s.seq++
	heap.Push(&s.queue, &event{t: t, seq: s.seq, cpu: cpu, ctx: ctx, fn: fn})
}

// At schedules hardware work (a NIC, a wire) at absolute time t. It runs
// on no CPU.
func (s *Sim) At(t int64, fn func()) { s.schedule(t, nil, Context{}, fn) }

// Run executes events in time order until the queue is empty, time passes
// until, or Limit events have run. It reports whether the queue drained.
func (s *Sim) Run(until int64) bool {
	s.Step(until, s.Limit)
	return s.queue.Len() == 0
}

// AdvanceTo moves the clock to t once every event due by then has run
// (Step first): a live run's way of letting wall-clock time pass.
func (s *Sim) AdvanceTo(t int64) {
	if s.queue.Len() > 0 && s.queue[0].t <= t {
		return // not idle until t yet
	}
	s.now = max(s.now, t)
}

// Step executes at most max events due by until, so that a caller can run
// a long simulation in slices (a browser draws a progress bar between
// them). It reports whether nothing is left to do by until.
func (s *Sim) Step(until int64, max int) bool {
	for range max {
		if s.queue.Len() == 0 || s.queue[0].t > until {
			return true
		}
		ev := heap.Pop(&s.queue).(*event)
		s.now = ev.t
		s.Executed++
		if ev.cpu == nil {
			s.hardware(ev)
			continue
		}
		ev.cpu.run(ev)
	}
	return s.queue.Len() == 0 || s.queue[0].t > until
}

// hardware runs work on no CPU. Should it reach a BUG() (it calls into a
// kernel only through that kernel's CPUs, so it should not), the host
// stops as it would on a CPU.
func (s *Sim) hardware(ev *event) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(oopsUnwind); !ok {
				panic(r)
			}
		}
	}()
	ev.fn()
}
