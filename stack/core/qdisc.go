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
	DevActivate(k *kernel.Kernel, dev *Device)
}
