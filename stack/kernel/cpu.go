package kernel

import "fmt"

// CtxKind is the kind of execution context.
type CtxKind uint8

// Execution contexts of a Linux CPU.
const (
	CtxTask CtxKind = iota
	CtxSoftirq
	CtxHardirq
	CtxTimer
)

// Context is who runs: a task, a softirq, a hard interrupt or a timer.
type Context struct {
	Kind CtxKind
	Name string
	PID  int
}

// String is the trace's ctx field: task:NAME[PID], softirq:NET_RX,
// hardirq:DEV, timer:NAME.
func (c Context) String() string {
	switch c.Kind {
	case CtxTask:
		return fmt.Sprintf("task:%s[%d]", c.Name, c.PID)
	case CtxSoftirq:
		return "softirq:" + c.Name
	case CtxHardirq:
		return "hardirq:" + c.Name
	}
	return "timer:" + c.Name
}

// CPU is one processor of a host. Its clock runs ahead of the simulation's
// while it is busy: each traced function costs a little virtual time, so
// work queued for a busy CPU starts when the CPU is free again.
type CPU struct {
	K     *Kernel
	ID    int
	clock int64
	ctx   Context
	ctxS  string
	stack []int // seqs of the open calls, innermost last
	sirq  softirqState
}

func (c *CPU) run(ev *event) {
	if c.clock < ev.t {
		c.clock = ev.t
	}
	c.ctx = ev.ctx
	c.ctxS = ev.ctx.String()
	c.K.cur = c
	ev.fn()
	c.K.cur = nil
}

// Kernel is one simulated host's kernel: its CPUs and their trace.
type Kernel struct {
	Sim         *Sim
	Name        string
	CPUs        []*CPU
	cur         *CPU
	nextPID     int
	softirqs    [nrSoftirqs]func()
	timers      []*Timer
	seqTimer    int
	tickPending bool
}

// NewKernel adds a host with n CPUs to the simulation.
func (s *Sim) NewKernel(name string, n int) *Kernel {
	k := &Kernel{Sim: s, Name: name, nextPID: 100}
	for i := range n {
		c := &CPU{K: k, ID: i}
		c.sirq.ksoftirqd = &Task{Name: fmt.Sprintf("ksoftirqd/%d", i), PID: 15 + 8*i, Files: &Files{}}
		k.CPUs = append(k.CPUs, c)
	}
	k.softirqs[TimerSoftirq] = k.runTimerSoftirq
	s.hosts = append(s.hosts, k)
	return k
}

// CPU is the CPU executing now; outside an event it is CPU 0.
func (k *Kernel) CPU() *CPU {
	if k.cur != nil {
		return k.cur
	}
	return k.CPUs[0]
}

// Now is the current CPU's clock.
func (k *Kernel) Now() int64 {
	if c := k.cur; c != nil {
		return c.clock
	}
	return k.Sim.now
}

// Ctx is the context executing now.
func (k *Kernel) Ctx() Context { return k.CPU().ctx }

// Spend advances the current CPU's clock by ns of work.
func (k *Kernel) Spend(ns int64) {
	if c := k.cur; c != nil {
		c.clock += ns
	}
}

// NewTask creates a task with the next PID.
func (k *Kernel) NewTask(name string) *Task {
	k.nextPID++
	return &Task{Name: name, PID: k.nextPID, Files: &Files{}}
}

// RunOn schedules fn at absolute time t on cpu in context ctx.
func (k *Kernel) RunOn(t int64, cpu int, ctx Context, fn func()) {
	k.Sim.schedule(t, k.CPUs[cpu], ctx, fn)
}

// Later schedules fn on the current CPU, delay ns after its clock, in ctx.
func (k *Kernel) Later(delay int64, ctx Context, fn func()) {
	k.Sim.schedule(k.Now()+delay, k.CPU(), ctx, fn)
}
