package core

// net/core/link_watch.c: carrier changes reach the qdisc layer and the
// notifier chain from a work item, not from the driver's context.

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

const linkWatchC = "net/core/link_watch.c"

var (
	fnLinkwatchFire       = kernel.NewFn("linkwatch_fire_event", linkWatchC, "dev")
	fnLinkwatchSchedWork  = kernel.NewFn("linkwatch_schedule_work", linkWatchC, "dev")
	fnLinkwatchEvent      = kernel.NewFn("linkwatch_event", linkWatchC, "dev")
	fnLinkwatchRunQueue   = kernel.NewFn("__linkwatch_run_queue", linkWatchC, "dev")
	fnLinkwatchDoDev      = kernel.NewFn("linkwatch_do_dev", linkWatchC, "dev")
	fnNetdevStateChange   = kernel.NewFn("netdev_state_change", devC, "dev")
	linkwatchRateLimitNs  = int64(kernel.Jiffy) * 250 // HZ jiffies: one second
	linkwatchMaxDoDevLoop = 100                       // MAX_DO_DEV_PER_LOOP
)

// linkwatch is link_watch.c's file-scope state, one per host:
// lweventlist, linkwatch_nextevent, the LW_URGENT flag and the delayed
// work linkwatch_work.
type linkwatch struct {
	list      []*Device
	nextevent int64 // no non-urgent run before this time (one a second)
	urgent    bool  // LW_URGENT
	queued    bool  // linkwatch_work is pending
	runAt     int64 // when the pending work runs
	gen       int   // cancels a pending run that mod_delayed_work moved
	// worker is the system_unbound_wq kworker that runs linkwatch_work.
	worker *kernel.Task
}

// netifRunning is netif_running(): __LINK_STATE_START, set by __dev_open
// and cleared as soon as __dev_close_many begins.
func netifRunning(d *Device) bool { return d.Up && !d.stopping }

// linkwatchUrgentEvent is linkwatch_urgent_event(): a running device
// whose carrier came back while noop_qdisc still stands in for its
// qdisc (qdisc_tx_changing) must not wait; carrier loss can.
func linkwatchUrgentEvent(d *Device) bool {
	return netifRunning(d) && !d.NoCarrier && d.QdiscSleeping != nil
}

// linkwatchFireEvent is linkwatch_fire_event(): put the device on
// lweventlist (once: __LINK_STATE_LINKWATCH_PENDING) and schedule the
// work, at once if urgent.
func (d *Device) linkwatchFireEvent(k *kernel.Kernel) {
	urgent := linkwatchUrgentEvent(d)
	e := k.Call(fnLinkwatchFire)
	switch {
	case !d.linkwatchPending:
		d.linkwatchPending = true
		d.Net.lw.list = append(d.Net.lw.list, d)
		e.Note = d.Name + " joins lweventlist"
	case !urgent:
		e.Note = d.Name + " already waits on lweventlist"
		k.RetVoid(fnLinkwatchFire)
		return
	}
	if urgent {
		e.Note += "; urgent: the carrier is back and noop_qdisc is still in place"
	}
	d.Net.linkwatchScheduleWork(k, urgent)
	k.RetVoid(fnLinkwatchFire)
}

// linkwatchScheduleWork is linkwatch_schedule_work(): an urgent event
// runs the work now (mod_delayed_work with no delay); others wait until
// linkwatch_nextevent, so that a flapping link costs at most one run a
// second (and queue_delayed_work leaves an already pending work alone).
func (n *Net) linkwatchScheduleWork(k *kernel.Kernel, urgent bool) {
	lw := &n.lw
	e := k.Call(fnLinkwatchSchedWork)
	if lw.urgent {
		e.Note = "LW_URGENT already set: the work is about to run"
		k.RetVoid(fnLinkwatchSchedWork)
		return
	}
	// delay is unsigned in the kernel: a nextevent in the past wraps
	// to a huge value, which the "more than HZ" test turns into 0.
	delay := lw.nextevent - k.Now()
	if urgent {
		lw.urgent = true
		delay = 0
	}
	if delay < 0 || delay > linkwatchRateLimitNs {
		delay = 0
	}
	switch {
	case lw.urgent:
		e.Note = "mod_delayed_work(system_unbound_wq, &linkwatch_work, 0)"
		n.queueLinkwatchWork(k, 0)
	case lw.queued:
		e.Note = fmt.Sprintf("queue_delayed_work: already pending, runs at %.3f ms", float64(lw.runAt)/1e6)
	default:
		e.Note = fmt.Sprintf("queue_delayed_work(system_unbound_wq, &linkwatch_work, %.3f ms)", float64(delay)/1e6)
		n.queueLinkwatchWork(k, delay)
	}
	k.RetVoid(fnLinkwatchSchedWork)
}

// queueLinkwatchWork (re)arms linkwatch_work to run delay ns from now
// on a kworker of system_unbound_wq.
func (n *Net) queueLinkwatchWork(k *kernel.Kernel, delay int64) {
	lw := &n.lw
	lw.gen++
	gen := lw.gen
	lw.queued, lw.runAt = true, k.Now()+delay
	if lw.worker == nil {
		lw.worker = &kernel.Task{Name: "kworker/u4:1", PID: 30}
	}
	k.Later(delay, lw.worker.Context(), func() {
		if lw.gen != gen {
			return
		}
		lw.queued = false
		n.linkwatchEvent(k)
	})
}

// linkwatchEvent is linkwatch_event(), the work function: under the
// RTNL lock (waiting for it if `ip link set` holds it), run the queue,
// only its urgent events if the last run was less than a second ago.
func (n *Net) linkwatchEvent(k *kernel.Kernel) {
	k.Call(fnLinkwatchEvent)
	n.RtnlLock(k, n.lw.worker, func() {
		n.linkwatchRunQueue(k, n.lw.nextevent > k.Now())
		n.RtnlUnlock(k)
		k.RetVoid(fnLinkwatchEvent)
	})
}

// linkwatchRunQueue is __linkwatch_run_queue(): take lweventlist and
// handle each device (when urgentOnly, the urgent ones; the rest go
// back on the list for the next run).
func (n *Net) linkwatchRunQueue(k *kernel.Kernel, urgentOnly bool) {
	lw := &n.lw
	e := k.Call(fnLinkwatchRunQueue)
	budget := linkwatchMaxDoDevLoop
	if urgentOnly {
		budget += linkwatchMaxDoDevLoop
		e.Note = "urgent events only: the last run was less than a second ago"
		if lw.nextevent > k.Now()+linkwatchRateLimitNs {
			lw.nextevent = k.Now()
		}
	} else {
		lw.nextevent = k.Now() + linkwatchRateLimitNs
		e.Note = "every event; the next non-urgent run waits a second (linkwatch_nextevent)"
	}
	lw.urgent = false
	wrk := lw.list
	lw.list = nil
	for i, d := range wrk {
		if budget == 0 {
			lw.list = append(lw.list, wrk[i:]...)
			break
		}
		if urgentOnly && !linkwatchUrgentEvent(d) {
			lw.list = append(lw.list, d)
			continue
		}
		d.linkwatchDoDev(k)
		budget--
	}
	if len(lw.list) > 0 {
		n.linkwatchScheduleWork(k, false)
	}
	k.RetVoid(fnLinkwatchRunQueue)
}

// linkwatchDoDev is linkwatch_do_dev(): new events may come again; the
// operational state follows the carrier (rfc2863_policy); and if the
// device is up, its qdisc is activated (carrier) or deactivated (no
// carrier: noop_qdisc in its place, its packets freed), and the
// notifier chain hears NETDEV_CHANGE.
func (d *Device) linkwatchDoDev(k *kernel.Kernel) {
	e := k.Call(fnLinkwatchDoDev)
	d.linkwatchPending = false
	oper := "IF_OPER_UP"
	if d.NoCarrier {
		oper = "IF_OPER_DOWN"
	}
	e.Note = fmt.Sprintf("rfc2863_policy: %s operstate %s", d.Name, oper)
	if !d.Up {
		e.Note += "; not IFF_UP: nothing more"
		k.RetVoid(fnLinkwatchDoDev)
		return
	}
	if d.NoCarrier {
		d.Net.Sched.DevDeactivate(k, d)
	} else {
		d.Net.Sched.DevActivate(k, d)
	}
	netdevStateChange(k, d)
	k.RetVoid(fnLinkwatchDoDev)
}

// netdevStateChange is netdev_state_change(): for an up device,
// NETDEV_CHANGE down the notifier chain (and an RTM_NEWLINK to
// listeners, which the model has none of).
func netdevStateChange(k *kernel.Kernel, d *Device) {
	k.Call(fnNetdevStateChange)
	callNetdeviceNotifiers(k, NetdevChange, d)
	k.Note(trace.State, "rtmsg_ifinfo(RTM_NEWLINK): "+d.Name+" changed")
	k.RetVoid(fnNetdevStateChange)
}

// RtnlLock is rtnl_lock(): run fn in task t holding the RTNL mutex, at
// once if it is free, else after t has slept until its holder let go.
func (n *Net) RtnlLock(k *kernel.Kernel, t *kernel.Task, fn func()) {
	if !n.rtnlHeld {
		n.rtnlHeld = true
		fn()
		return
	}
	n.rtnlWait.Name = "rtnl_mutex"
	k.Note(trace.State, "rtnl_lock: the RTNL mutex is held (a device is being changed): "+t.Name+" sleeps until it is released")
	k.Sleep(t, &n.rtnlWait, func() { n.RtnlLock(k, t, fn) })
}

// RtnlUnlock is rtnl_unlock(): release the mutex and wake its waiters.
func (n *Net) RtnlUnlock(k *kernel.Kernel) {
	n.rtnlHeld = false
	k.WakeUp(&n.rtnlWait)
}
