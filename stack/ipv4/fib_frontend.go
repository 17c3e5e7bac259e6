package ipv4

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

const fibFrontendC = "net/ipv4/fib_frontend.c"

var (
	fnFibNetdevEvent = kernel.NewFn("fib_netdev_event", fibFrontendC, "ip")
	fnFibDisableIP   = kernel.NewFn("fib_disable_ip", fibFrontendC, "ip")
	fnFibSyncDownDev = kernel.NewFn("fib_sync_down_dev", "net/ipv4/fib_semantics.c", "ip")
	fnFibFlush       = kernel.NewFn("fib_flush", fibFrontendC, "ip")
	fnFibAddIfaddr   = kernel.NewFn("fib_add_ifaddr", fibFrontendC, "ip")
	fnRtCacheFlush   = kernel.NewFn("rt_cache_flush", "net/ipv4/route.c", "ip")
	fnArpIfdown      = kernel.NewFn("arp_ifdown", "net/ipv4/arp.c", "neigh")
	fnFibSyncUp      = kernel.NewFn("fib_sync_up", "net/ipv4/fib_semantics.c", "ip")
)

// fibNetdevEvent is fib_netdev_event(), IPv4's netdev notifier: routes
// through a device that went down are flushed along with its ARP entries;
// when it comes up, the prefix route of its address returns (routes
// added by hand do not: Linux forgets them too).
func (n *Net) fibNetdevEvent(k *kernel.Kernel, ev core.NetdevEvent, dev *core.Device) {
	switch ev {
	case core.NetdevDown:
		k.Call(fnFibNetdevEvent).Note = string(ev)
		n.fibDisableIP(k, dev)
	case core.NetdevUp:
		k.Call(fnFibNetdevEvent).Note = string(ev)
		if dev.Loopback {
			// lo's 127.0.0.0/8 is RTN_LOCAL, in the local table, which
			// NETDEV_DOWN left alone: nothing to add back.
			k.Note(trace.State, "lo: 127.0.0.0/8 is still in the local table")
		} else if dev.IPv4.IsValid() {
			k.Call(fnFibAddIfaddr)
			r := Route{Dst: dev.IPv4.Masked(), Dev: dev, Src: dev.IPv4.Addr()}
			n.Routes = append(n.Routes, r)
			k.Note(trace.State, "route added: "+r.String())
			k.RetVoid(fnFibAddIfaddr)
		}
		n.rtCacheFlush(k)
	case core.NetdevChange:
		k.Call(fnFibNetdevEvent).Note = string(ev) + ": the carrier changed"
		n.fibSyncLinkdown(k, dev)
		n.rtCacheFlush(k)
	default:
		return
	}
	k.RetS(fnFibNetdevEvent, "NOTIFY_DONE")
}

// fibDisableIP is fib_disable_ip(): every nexthop through dev is dead, so
// its routes are flushed; cached routes go stale; the neighbours go.
func (n *Net) fibDisableIP(k *kernel.Kernel, dev *core.Device) {
	k.Call(fnFibDisableIP)
	k.Call(fnFibSyncDownDev)
	var kept []Route
	var dead []string
	for _, r := range n.Routes {
		if r.Dev == dev {
			dead = append(dead, r.String())
			continue
		}
		kept = append(kept, r)
	}
	if dev.Loopback {
		k.Note(trace.State, "lo's local routes have host scope (nexthop scope RT_SCOPE_NOWHERE): not forced, fib_sync_down_dev keeps them")
	}
	k.RetS(fnFibSyncDownDev, fmt.Sprint(len(dead)))
	if len(dead) > 0 {
		k.Call(fnFibFlush)
		n.Routes = kept
		for _, r := range dead {
			k.Note(trace.State, "route deleted: "+r)
		}
		k.RetVoid(fnFibFlush)
	} else {
		n.rtCacheFlush(k)
	}
	k.Call(fnArpIfdown)
	n.Core.NeighIfdown(k, dev)
	k.RetVoid(fnArpIfdown)
	k.RetVoid(fnFibDisableIP)
}

// fibSyncLinkdown is NETDEV_CHANGE's half of fib_netdev_event: with the
// carrier (IFF_LOWER_UP) fib_sync_up clears RTNH_F_LINKDOWN on the
// device's nexthops; without, fib_sync_down_dev sets it. Neither kills a
// route: with net.ipv4.conf.all.ignore_routes_with_linkdown at its
// default 0, lookups still choose them.
func (n *Net) fibSyncLinkdown(k *kernel.Kernel, dev *core.Device) {
	fn := fnFibSyncUp
	if dev.NoCarrier {
		fn = fnFibSyncDownDev
	}
	k.Call(fn)
	changed := 0
	for i := range n.Routes {
		if r := &n.Routes[i]; r.Dev == dev && r.LinkDown != dev.NoCarrier {
			r.LinkDown = dev.NoCarrier
			changed++
			k.Note(trace.State, "route "+r.String())
		}
	}
	if fn == fnFibSyncDownDev {
		changed = 0 // it counts routes that died, and a link down kills none
	}
	k.RetS(fn, fmt.Sprint(changed))
}

// rtCacheFlush is rt_cache_flush(): bump the generation id, so that every
// dst cached in a socket fails its next check.
func (n *Net) rtCacheFlush(k *kernel.Kernel) {
	k.Call(fnRtCacheFlush).Note = "rt_genid_bump_ipv4: cached dsts are stale"
	k.RetVoid(fnRtCacheFlush)
}
