package sched

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

const schAPIC = "net/sched/sch_api.c"

var (
	fnQdiscWatchdogScheduleNs = kernel.NewFn("qdisc_watchdog_schedule_ns", "include/net/pkt_sched.h", "qdisc")
	fnQdiscWatchdog           = kernel.NewFn("qdisc_watchdog", schAPIC, "qdisc")
)

// watchdog is struct qdisc_watchdog: an hrtimer (HRTIMER_MODE_ABS_PINNED,
// so it fires in hard interrupt context on the CPU that armed it) that
// reschedules a throttled qdisc.
type watchdog struct {
	pending bool
	expires int64
	gen     int // bumps on every (re)arm, so a superseded expiry is ignored
	Fired   int // how many times it woke the qdisc
}

// qdiscWatchdogScheduleNs is qdisc_watchdog_schedule_ns() →
// qdisc_watchdog_schedule_range_ns(): (re)arm the hrtimer for expires
// (absolute ns), unless it is already set for that very time.
func qdiscWatchdogScheduleNs(k *kernel.Kernel, w *watchdog, q core.Qdisc, dev *core.Device, expires int64) {
	k.Call(fnQdiscWatchdogScheduleNs).Note = fmt.Sprintf("%s throttled: wake it in %.3f ms", q.Kind(), float64(expires-k.Now())/1e6)
	if w.pending && w.expires == expires {
		k.RetVoid(fnQdiscWatchdogScheduleNs)
		return
	}
	w.gen++
	w.pending, w.expires = true, expires
	gen := w.gen
	k.Event(trace.Timer, nil).Note = fmt.Sprintf("%s's qdisc_watchdog hrtimer armed: fires at %.3f ms", q.Kind(), float64(expires)/1e6)
	k.Later(max(expires-k.Now(), 0), kernel.Context{Kind: kernel.CtxHardirq, Name: "hrtimer"}, func() {
		if !w.pending || w.gen != gen {
			return
		}
		w.pending = false
		w.Fired++
		k.HardIRQ("LOC (local APIC timer)", func() {
			k.Call(fnQdiscWatchdog).Note = q.Kind() + "'s hrtimer expired: reschedule the qdisc"
			k.Event(trace.Timer, nil).Note = "qdisc_watchdog expired"
			dev.Net.NetifSchedule(k, dev)
			k.RetS(fnQdiscWatchdog, "HRTIMER_NORESTART")
		})
	})
	k.RetVoid(fnQdiscWatchdogScheduleNs)
}
