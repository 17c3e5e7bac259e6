package core

import (
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

// Qdisc is struct Qdisc as net/core/dev.c uses it; the disciplines and
// their generic runner live in stack/sched.
type Qdisc interface {
	Kind() string
	// Enqueue is q->enqueue. A NULL enqueue (noqueue) is CanEnqueue false.
	Enqueue(k *kernel.Kernel, s *skb.SKB) NetXmit
	CanEnqueue() bool
	CanBypass() bool // TCQ_F_CAN_BYPASS
	NoLock() bool    // TCQ_F_NOLOCK
	Empty() bool     // nolock_qdisc_is_empty / qlen == 0
	RunBegin() bool  // qdisc_run_begin
	RunEnd()         // qdisc_run_end
}

// QdiscRunner is net/sched/sch_generic.c as dev.c calls it.
type QdiscRunner interface {
	SchDirectXmit(k *kernel.Kernel, s *skb.SKB, q Qdisc, dev *Device, validate bool) bool
	QdiscRun(k *kernel.Kernel, q Qdisc, dev *Device)
	RunQdisc(k *kernel.Kernel, q Qdisc, dev *Device) // __qdisc_run
	DevDeactivateMany(k *kernel.Kernel, dev *Device)
	DevDeactivate(k *kernel.Kernel, dev *Device) // linkwatch, on carrier loss
	DevActivate(k *kernel.Kernel, dev *Device)
}

// Noqueue is the noqueue qdisc that virtual devices such as lo get by
// default: a qdisc object whose enqueue is NULL, so __dev_queue_xmit
// calls the driver directly. It matters as an object because
// dev_deactivate puts noop_qdisc in its place while the device is down,
// and dev_activate brings it back.
type Noqueue struct{}

// Kind is the qdisc's name in `tc qdisc`.
func (*Noqueue) Kind() string { return "noqueue" }

// Enqueue is never called: CanEnqueue is false.
func (*Noqueue) Enqueue(*kernel.Kernel, *skb.SKB) NetXmit { return NetXmitDrop }

// CanEnqueue is false: q->enqueue is NULL.
func (*Noqueue) CanEnqueue() bool { return false }

// CanBypass is false.
func (*Noqueue) CanBypass() bool { return false }

// NoLock is false.
func (*Noqueue) NoLock() bool { return false }

// Empty is true: nothing is ever queued.
func (*Noqueue) Empty() bool { return true }

// RunBegin is false: there is nothing to run.
func (*Noqueue) RunBegin() bool { return false }

// RunEnd does nothing.
func (*Noqueue) RunEnd() {}
