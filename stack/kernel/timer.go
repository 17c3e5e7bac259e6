package kernel

import (
	"fmt"
	"slices"

	"skbscope/stack/trace"
)

// Jiffy is one tick at HZ=250 (Debian's CONFIG_HZ), the timer wheel's
// granularity.
const Jiffy = jiffyNs

const timerC = "kernel/time/timer.c"

var (
	fnTimerTick       = NewFn("update_process_times", "kernel/time/timer.c", "irq")
	fnRunTimerSoftirq = NewFn("run_timer_softirq", timerC, "timer")
	fnCallTimerFn     = NewFn("call_timer_fn", timerC, "timer")
)

// Timer is a struct timer_list.
type Timer struct {
	Name    string // the callback's name, e.g. neigh_timer_handler
	Fn      func()
	expires int64 // ns; valid while pending
	pending bool
	gen     int // bumps on every mod/del, so stale ticks are ignored
	order   int // arm order, for ties
}

// Pending is timer_pending().
func (t *Timer) Pending() bool { return t.pending }

// Expires is the time the timer will fire (when pending).
func (t *Timer) Expires() int64 { return t.expires }

// ModTimer is mod_timer(): fire at expires (ns), rounded up to the next
// jiffy as the timer wheel does.
func (k *Kernel) ModTimer(t *Timer, expires int64) {
	t.gen++
	t.pending = true
	t.expires = (expires + Jiffy - 1) / Jiffy * Jiffy
	k.seqTimer++
	t.order = k.seqTimer
	if !slices.Contains(k.timers, t) {
		k.timers = append(k.timers, t)
	}
	e := k.Event(trace.Timer, nil)
	e.Note = fmt.Sprintf("%s armed: fires at %.3f ms", t.Name, float64(t.expires)/1e6)
	gen := t.gen
	k.Sim.At(t.expires, func() {
		if t.pending && t.gen == gen {
			k.tick()
		}
	})
}

// DelTimer is del_timer(): reports whether the timer was pending.
func (k *Kernel) DelTimer(t *Timer) bool {
	was := t.pending
	t.pending = false
	t.gen++
	k.timers = slices.DeleteFunc(k.timers, func(x *Timer) bool { return x == t })
	if was {
		k.Event(trace.Timer, nil).Note = t.Name + " cancelled"
	}
	return was
}

// tick is the local timer interrupt on CPU 0 at a jiffy with expired
// timers: it raises TIMER_SOFTIRQ, which runs them on the way out.
func (k *Kernel) tick() {
	if k.tickPending {
		return
	}
	k.tickPending = true
	k.RunOn(k.Sim.Now(), 0, Context{Kind: CtxHardirq, Name: "local_timer"}, func() {
		k.tickPending = false
		k.HardIRQ("LOC (local APIC timer)", func() {
			k.Call(fnTimerTick).Note = "a jiffy with expired timers: raise TIMER_SOFTIRQ"
			k.RaiseSoftirqIrqoff(TimerSoftirq)
			k.RetVoid(fnTimerTick)
		})
	})
}

// runTimerSoftirq is run_timer_softirq() → __run_timers: call every
// expired timer's function, earliest first, in timer context.
func (k *Kernel) runTimerSoftirq() {
	k.Call(fnRunTimerSoftirq)
	now := k.Now()
	var due []*Timer
	for _, t := range k.timers {
		if t.pending && t.expires <= now {
			due = append(due, t)
		}
	}
	slices.SortStableFunc(due, func(a, b *Timer) int {
		if a.expires != b.expires {
			return int(a.expires - b.expires)
		}
		return a.order - b.order
	})
	c := k.CPU()
	for _, t := range due {
		if !t.pending { // an earlier callback cancelled it
			continue
		}
		t.pending = false
		k.timers = slices.DeleteFunc(k.timers, func(x *Timer) bool { return x == t })
		k.Call(fnCallTimerFn).Note = t.Name
		saved, savedS := c.ctx, c.ctxS
		c.ctx = Context{Kind: CtxTimer, Name: t.Name}
		c.ctxS = c.ctx.String()
		k.Event(trace.Timer, nil).Note = t.Name + " expired"
		t.Fn()
		c.ctx, c.ctxS = saved, savedS
		k.RetVoid(fnCallTimerFn)
	}
	k.RetVoid(fnRunTimerSoftirq)
}
