package kernel

import (
	"fmt"

	"skbscope/stack/trace"
)

// Softirq numbers (include/linux/interrupt.h) and their names.
const (
	HiSoftirq    = 0
	TimerSoftirq = 1
	NetTxSoftirq = 2
	NetRxSoftirq = 3
	nrSoftirqs   = 10
)

var softirqNames = [nrSoftirqs]string{"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"}

// Softirq and interrupt limits of kernel/softirq.c with HZ=250.
const (
	jiffyNs           = 4_000_000
	maxSoftirqRestart = 10
)

const softirqC = "kernel/softirq.c"

var (
	fnRaiseSoftirq   = NewFn("raise_softirq_irqoff", softirqC, "softirq")
	fnHandleSoftirqs = NewFn("handle_softirqs", softirqC, "softirq")
	fnLocalBhEnable  = NewFn("__local_bh_enable_ip", softirqC, "softirq")
	fnIrqExitRcu     = NewFn("irq_exit_rcu", softirqC, "irq")
	fnRunKsoftirqd   = NewFn("run_ksoftirqd", softirqC, "softirq")
	fnWakeupSoftirqd = NewFn("wakeup_softirqd", softirqC, "softirq")
	fnCommonIRQ      = NewFn("common_interrupt", "arch/x86/kernel/irq.c", "irq")
	fnHandleIRQEvent = NewFn("handle_irq_event", "kernel/irq/handle.c", "irq")
)

// softirqState is a CPU's softirq bookkeeping.
type softirqState struct {
	pending    uint32
	bhDisabled int  // local_bh_disable nesting
	serving    bool // in_serving_softirq
	hardirq    bool // in_hardirq
	ksoftirqd  *Task
	kWoken     bool
	tasklets   []*Tasklet // tasklet_vec
}

// OpenSoftirq is open_softirq(): the handler for softirq nr on this host.
func (k *Kernel) OpenSoftirq(nr int, fn func()) { k.softirqs[nr] = fn }

// inInterrupt is in_interrupt(): hard or soft interrupt context, or
// bottom halves disabled.
func (c *CPU) inInterrupt() bool { return c.sirq.hardirq || c.sirq.serving || c.sirq.bhDisabled > 0 }

// InInterrupt reports in_interrupt() on the current CPU.
func (k *Kernel) InInterrupt() bool { return k.CPU().inInterrupt() }

// InHardirq reports in_hardirq() on the current CPU.
func (k *Kernel) InHardirq() bool { return k.CPU().sirq.hardirq }

// RaiseSoftirqIrqoff is raise_softirq_irqoff(): mark nr pending. Outside
// interrupt context nobody will run it soon, so ksoftirqd is woken.
func (k *Kernel) RaiseSoftirqIrqoff(nr int) {
	c := k.CPU()
	e := k.Call(fnRaiseSoftirq)
	e.Note = softirqNames[nr] + "_SOFTIRQ pending"
	c.sirq.pending |= 1 << nr
	if !c.inInterrupt() {
		k.wakeupSoftirqd(c)
	}
	k.RetVoid(fnRaiseSoftirq)
}

// LocalBhDisable is local_bh_disable().
func (k *Kernel) LocalBhDisable() { k.CPU().sirq.bhDisabled++ }

// LocalBhEnable is local_bh_enable(): leaving the outermost BH-off
// section runs pending softirqs right here, in the caller's stack.
func (k *Kernel) LocalBhEnable() {
	c := k.CPU()
	c.sirq.bhDisabled--
	if c.sirq.bhDisabled == 0 && c.sirq.pending != 0 && !c.inInterrupt() {
		k.Call(fnLocalBhEnable).Note = "bottom halves back on with softirqs pending: run them now (do_softirq)"
		k.handleSoftirqs(c, false)
		k.RetVoid(fnLocalBhEnable)
	}
}

// HardIRQ runs an interrupt handler as the CPU takes the interrupt:
// common_interrupt → handle_irq_event → handler, then irq_exit_rcu, which
// runs pending softirqs before returning.
func (k *Kernel) HardIRQ(line string, handler func()) {
	c := k.CPU()
	k.Call(fnCommonIRQ)
	c.sirq.hardirq = true
	k.Call(fnHandleIRQEvent).Note = "IRQ line " + line
	handler()
	k.RetS(fnHandleIRQEvent, "IRQ_HANDLED")
	k.Call(fnIrqExitRcu)
	c.sirq.hardirq = false
	if c.sirq.pending != 0 && !c.inInterrupt() {
		k.handleSoftirqs(c, false)
	}
	k.RetVoid(fnIrqExitRcu)
	k.RetVoid(fnCommonIRQ)
}

// handleSoftirqs is handle_softirqs(): run every pending softirq, and
// again while new ones are raised, for at most MAX_SOFTIRQ_RESTART passes
// and until the next jiffy; what is left goes to ksoftirqd.
func (k *Kernel) handleSoftirqs(c *CPU, ksirqd bool) {
	saved, savedS := c.ctx, c.ctxS
	end := (k.Now()/jiffyNs + 1) * jiffyNs
	first := true
	c.sirq.serving = true
	for restart := maxSoftirqRestart; ; {
		pending := c.sirq.pending
		c.sirq.pending = 0
		for nr := range nrSoftirqs {
			if pending&(1<<nr) == 0 {
				continue
			}
			c.ctx = Context{Kind: CtxSoftirq, Name: softirqNames[nr]}
			c.ctxS = c.ctx.String()
			if first {
				k.Call(fnHandleSoftirqs)
				first = false
			}
			if h := k.softirqs[nr]; h != nil {
				h()
			}
		}
		if c.sirq.pending == 0 {
			break
		}
		restart--
		if k.Now() >= end || restart == 0 {
			k.Note(trace.State, fmt.Sprintf("softirqs still pending after %d passes or past the jiffy: hand them to ksoftirqd", maxSoftirqRestart-restart))
			k.wakeupSoftirqd(c)
			break
		}
	}
	c.sirq.serving = false
	if !first {
		k.RetVoid(fnHandleSoftirqs)
	}
	c.ctx, c.ctxS = saved, savedS
}

// wakeupSoftirqd is wakeup_softirqd(): make ksoftirqd/N runnable.
func (k *Kernel) wakeupSoftirqd(c *CPU) {
	k.Call(fnWakeupSoftirqd)
	if !c.sirq.kWoken {
		c.sirq.kWoken = true
		t := c.sirq.ksoftirqd
		k.Sim.schedule(k.Now()+wakeupLatencyNs, c, t.Context(), func() {
			c.sirq.kWoken = false
			k.Call(fnRunKsoftirqd)
			if c.sirq.pending != 0 {
				k.handleSoftirqs(c, true)
			}
			k.RetVoid(fnRunKsoftirqd)
		})
	}
	k.RetVoid(fnWakeupSoftirqd)
}

// wakeupLatencyNs is how long a woken task waits for the CPU: the
// scheduler's work plus a context switch, an order of magnitude.
const wakeupLatencyNs = 2_000
