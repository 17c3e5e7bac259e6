package kernel

import (
	"fmt"

	"skbscope/stack/trace"
)

var (
	fnSchedule     = NewFn("schedule", "kernel/sched/core.c", "sched")
	fnTryToWakeUp  = NewFn("try_to_wake_up", "kernel/sched/core.c", "sched")
	fnWakeUpCommon = NewFn("__wake_up", "kernel/sched/wait.c", "sched")
)

// WaitQueue is a wait_queue_head_t: tasks asleep until someone wakes them.
type WaitQueue struct {
	Name    string
	waiters []waiter
}

type waiter struct {
	t      *Task
	resume func()
}

// Len is how many tasks sleep on the queue.
func (w *WaitQueue) Len() int { return len(w.waiters) }

// Sleep puts the current task to sleep on w: its open calls leave the CPU
// with it (they are still open in the trace), and resume runs, in the task's
// context with those calls restored, once the task is woken and scheduled.
// The caller must return without recording its own ret: resume does that.
func (k *Kernel) Sleep(t *Task, w *WaitQueue, resume func()) {
	c := k.CPU()
	k.Call(fnSchedule).Note = t.Name + " sleeps on " + w.Name
	t.saved = append([]int(nil), c.stack...)
	c.stack = c.stack[:0]
	w.waiters = append(w.waiters, waiter{t: t, resume: resume})
	e := k.Event(trace.State, nil)
	e.Note = t.Name + " is TASK_INTERRUPTIBLE: the CPU is free for others"
}

// WakeUp is __wake_up(): every task asleep on w becomes runnable and runs
// after the scheduler's latency.
func (k *Kernel) WakeUp(w *WaitQueue) {
	if len(w.waiters) == 0 {
		return
	}
	k.Call(fnWakeUpCommon).Note = "wake the tasks sleeping on " + w.Name
	ws := w.waiters
	w.waiters = nil
	for _, x := range ws {
		k.Call(fnTryToWakeUp).Note = x.t.Name + " becomes TASK_RUNNING"
		k.RetS(fnTryToWakeUp, "1")
		t, resume := x.t, x.resume
		k.Later(wakeupLatencyNs, t.Context(), func() {
			c := k.CPU()
			c.stack = append(c.stack[:0], t.saved...)
			t.saved = nil
			// schedule() returns in the woken task: its ret closes the
			// frame opened when the task went to sleep.
			k.RetVoid(fnSchedule)
			resume()
		})
	}
	k.RetVoid(fnWakeUpCommon)
}

var (
	fnHrtimerNanosleep = NewFn("hrtimer_nanosleep", "kernel/time/hrtimer.c", "sched")
	fnHrtimerWakeup    = NewFn("hrtimer_wakeup", "kernel/time/hrtimer.c", "sched")
)

var fnUsleepRange = NewFn("usleep_range_state", "kernel/time/timer.c", "sched")

// Nanosleep is nanosleep() → hrtimer_nanosleep(): the task sleeps until
// its hrtimer fires (in the timer interrupt) and wakes it; then done runs
// in the task.
func (k *Kernel) Nanosleep(t *Task, ns int64, done func()) {
	k.hrSleep(t, fnHrtimerNanosleep, ns, done)
}

// UsleepRange is usleep_range(): what a driver calls to wait for its
// hardware, sleeping on an hrtimer like nanosleep. The model sleeps for
// the shortest time of the range, min.
func (k *Kernel) UsleepRange(t *Task, min int64, done func()) { k.hrSleep(t, fnUsleepRange, min, done) }

func (k *Kernel) hrSleep(t *Task, fn *Fn, ns int64, done func()) {
	k.Call(fn).Note = fmt.Sprintf("sleep %.3f ms", float64(ns)/1e6)
	wq := &WaitQueue{Name: t.Name + "'s hrtimer_sleeper"}
	cpu := k.CPU()
	k.Sleep(t, wq, func() {
		k.RetS(fn, "0")
		done()
	})
	k.Sim.schedule(k.Now()+ns, cpu, Context{Kind: CtxHardirq, Name: "hrtimer"}, func() {
		k.HardIRQ("LOC (local APIC timer)", func() {
			k.Call(fnHrtimerWakeup)
			k.WakeUp(wq)
			k.RetS(fnHrtimerWakeup, "HRTIMER_NORESTART")
		})
	})
}
