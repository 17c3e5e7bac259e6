package kernel

// Tasklets (kernel/softirq.c): deferred work that runs in TASKLET_SOFTIRQ
// on the CPU that scheduled it, never on two CPUs at once. Drivers that
// get work in a context where they may not do it (ppp_async: bytes from
// the tty, a write wakeup from the UART's interrupt) schedule one.

// TaskletSoftirq is TASKLET_SOFTIRQ.
const TaskletSoftirq = 6

var (
	fnTaskletSchedule = NewFn("tasklet_schedule", "include/linux/interrupt.h", "softirq")
	fnTaskletAction   = NewFn("tasklet_action", softirqC, "softirq")
)

// Tasklet is struct tasklet_struct: a function and its
// TASKLET_STATE_SCHED bit.
type Tasklet struct {
	Name      string
	Fn        func()
	scheduled bool
}

// TaskletSchedule is tasklet_schedule(): if the tasklet is not scheduled
// yet, put it on this CPU's tasklet_vec and raise TASKLET_SOFTIRQ (which
// wakes ksoftirqd when called outside interrupt context). Scheduling a
// scheduled tasklet does nothing: it runs once for both requests.
func (k *Kernel) TaskletSchedule(t *Tasklet) {
	e := k.Call(fnTaskletSchedule)
	if t.scheduled {
		e.Note = t.Name + " is already scheduled (TASKLET_STATE_SCHED): it will run once for both"
		k.RetVoid(fnTaskletSchedule)
		return
	}
	e.Note = t.Name + " joins tasklet_vec"
	t.scheduled = true
	if k.softirqs[TaskletSoftirq] == nil {
		k.softirqs[TaskletSoftirq] = k.taskletAction // softirq_init's open_softirq
	}
	c := k.CPU()
	c.sirq.tasklets = append(c.sirq.tasklets, t)
	k.RaiseSoftirqIrqoff(TaskletSoftirq)
	k.RetVoid(fnTaskletSchedule)
}

// taskletAction is tasklet_action(): take the whole list and run each
// tasklet once, clearing its SCHED bit first so that it may be
// scheduled again while it runs.
func (k *Kernel) taskletAction() {
	k.Call(fnTaskletAction)
	c := k.CPU()
	list := c.sirq.tasklets
	c.sirq.tasklets = nil
	for _, t := range list {
		t.scheduled = false
		t.Fn()
	}
	k.RetVoid(fnTaskletAction)
}
