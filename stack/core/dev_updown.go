package core

// Bringing a device up and down: net/core/dev.c's dev_change_flags and
// the open and close sequences, and net/core/link_watch.c, which hands
// carrier changes to the qdisc layer.

import (
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

// NetdevEvent is a netdev notifier event (include/linux/netdevice.h).
type NetdevEvent string

// The events the model sends.
const (
	NetdevUp        NetdevEvent = "NETDEV_UP"
	NetdevGoingDown NetdevEvent = "NETDEV_GOING_DOWN"
	NetdevDown      NetdevEvent = "NETDEV_DOWN"
	NetdevPreUp     NetdevEvent = "NETDEV_PRE_UP"
	NetdevChange    NetdevEvent = "NETDEV_CHANGE"
)

var (
	fnDevChangeFlags      = kernel.NewFn("dev_change_flags", devC, "dev")
	fnDevChangeFlagsInner = kernel.NewFn("__dev_change_flags", devC, "dev")
	fnDevClose            = kernel.NewFn("__dev_close", devC, "dev")
	fnDevCloseMany        = kernel.NewFn("__dev_close_many", devC, "dev")
	fnDevOpen             = kernel.NewFn("__dev_open", devC, "dev")
	fnDevNotifyFlags      = kernel.NewFn("__dev_notify_flags", devC, "dev")
	fnCallNotifiers       = kernel.NewFn("call_netdevice_notifiers", devC, "dev")
	fnNetifCarrierOn      = kernel.NewFn("netif_carrier_on", "net/sched/sch_generic.c", "dev")
	fnNetifCarrierOff     = kernel.NewFn("netif_carrier_off", "net/sched/sch_generic.c", "dev")
)

// DevChangeFlags is dev_change_flags() with IFF_UP set or cleared, as
// `ip link set DEV up|down` asks through rtnetlink: open or close the
// device, then tell the notifier chain (routes, ARP). done gets 0 or a
// negative errno, in task t, since closing may sleep.
func DevChangeFlags(k *kernel.Kernel, t *kernel.Task, dev *Device, up bool, done func(rc int)) {
	k.Call(fnDevChangeFlags)
	k.Call(fnDevChangeFlagsInner)
	finish := func(rc int) {
		k.RetS(fnDevChangeFlagsInner, kernel.Err(rc).String())
		if rc == 0 {
			ev := NetdevDown
			if up {
				ev = NetdevUp
			}
			k.Call(fnDevNotifyFlags).Note = "IFF_UP changed: tell the notifier chain"
			callNetdeviceNotifiers(k, ev, dev)
			k.RetVoid(fnDevNotifyFlags)
		}
		k.RetS(fnDevChangeFlags, kernel.Err(rc).String())
		done(rc)
	}
	switch {
	case up == dev.Up:
		k.Note(trace.State, dev.Name+" is already "+map[bool]string{true: "up", false: "down"}[up])
		k.RetS(fnDevChangeFlagsInner, "0")
		k.RetS(fnDevChangeFlags, "0")
		done(0)
	case up:
		finish(devOpen(k, dev))
	default:
		devClose(k, t, dev, func() { finish(0) })
	}
}

func callNetdeviceNotifiers(k *kernel.Kernel, ev NetdevEvent, dev *Device) {
	k.Call(fnCallNotifiers).Note = string(ev) + " for " + dev.Name
	for _, n := range dev.Net.Notifiers {
		n(k, ev, dev)
	}
	k.RetS(fnCallNotifiers, "NOTIFY_DONE")
}

// devOpen is __dev_open(): the driver's ndo_open, IFF_UP, then
// dev_activate, which leaves noop_qdisc in place until there is carrier.
func devOpen(k *kernel.Kernel, dev *Device) int {
	k.Call(fnDevOpen)
	callNetdeviceNotifiers(k, NetdevPreUp, dev)
	// Linux sets __LINK_STATE_START before ndo_open and IFF_UP after;
	// the model's Up covers both, set after: a carrier event inside
	// ndo_open is carrier loss, never urgent either way.
	if ops, ok := dev.Ops.(NetdevOpenStop); ok {
		if rc := ops.NdoOpen(k, dev); rc < 0 {
			return int(kernel.Ret(k, fnDevOpen, kernel.Err(rc)))
		}
	}
	dev.Up = true
	k.Note(trace.State, dev.Name+": IFF_UP set")
	dev.Net.Sched.DevActivate(k, dev)
	return int(kernel.Ret(k, fnDevOpen, kernel.Err(0)))
}

// devClose is __dev_close() → __dev_close_many(): NETDEV_GOING_DOWN,
// noop_qdisc in place of the real one (dev_deactivate_many), the
// driver's ndo_stop, and IFF_UP cleared.
func devClose(k *kernel.Kernel, t *kernel.Task, dev *Device, done func()) {
	k.Call(fnDevClose)
	k.Call(fnDevCloseMany)
	callNetdeviceNotifiers(k, NetdevGoingDown, dev)
	dev.stopping = true
	k.Note(trace.State, dev.Name+": __LINK_STATE_START cleared (netif_running() is false)")
	dev.Net.Sched.DevDeactivateMany(k, dev)
	finish := func() {
		dev.Up, dev.stopping = false, false
		k.Note(trace.State, dev.Name+": IFF_UP cleared")
		k.RetVoid(fnDevCloseMany)
		k.RetVoid(fnDevClose)
		done()
	}
	if ops, ok := dev.Ops.(NetdevOpenStop); ok {
		ops.NdoStop(k, t, dev, finish)
		return
	}
	finish()
}

// NetifCarrierOff is netif_carrier_off(): the link is gone. If the
// carrier was on, linkwatch hears of it: its work will put noop_qdisc
// in the qdisc's place if the device is still up (a cable pulled), or
// only set the operational state if it is being closed.
func (d *Device) NetifCarrierOff(k *kernel.Kernel) {
	e := k.Call(fnNetifCarrierOff)
	if d.NoCarrier {
		e.Note = "__LINK_STATE_NOCARRIER was already set"
	} else {
		d.NoCarrier = true
		e.Note = "__LINK_STATE_NOCARRIER set"
		d.linkwatchFireEvent(k)
	}
	k.RetVoid(fnNetifCarrierOff)
}

// NetifCarrierOn is netif_carrier_on(): the link came up; linkwatch will
// activate the qdisc from its work (at once: carrier-on with noop_qdisc
// in place is urgent).
func (d *Device) NetifCarrierOn(k *kernel.Kernel) {
	k.Call(fnNetifCarrierOn)
	if d.NoCarrier {
		d.NoCarrier = false
		d.linkwatchFireEvent(k)
	}
	k.RetVoid(fnNetifCarrierOn)
}
