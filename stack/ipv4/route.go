package ipv4

import (
	"fmt"
	"net/netip"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
)

var fnIPRouteOutputFlow = kernel.NewFn("ip_route_output_flow", "net/ipv4/route.c", "ip")

// Route is one FIB entry, as `ip route` prints it.
type Route struct {
	Dst netip.Prefix
	Dev *core.Device
	Gw  netip.Addr // invalid when on-link
	Src netip.Addr // the preferred source address
	// LinkDown is RTNH_F_LINKDOWN on the nexthop: its device has no
	// carrier. The route is still used (ignore_routes_with_linkdown 0).
	LinkDown bool
}

func (r Route) String() string {
	s := r.Dst.String()
	if r.Gw.IsValid() {
		s += " via " + r.Gw.String()
	}
	s += " dev " + r.Dev.Name
	if !r.Gw.IsValid() {
		s += " scope link"
	}
	s += " src " + r.Src.String()
	if r.LinkDown {
		s += " linkdown"
	}
	return s
}

// Rtable is struct rtable: the dst an output route attaches to an skb.
type Rtable struct {
	Dev   *core.Device
	Gw    netip.Addr // rt_gw4, invalid when the destination is on-link
	Src   netip.Addr
	MTU   int
	Route Route
	Local bool // an input route to this host (RTN_LOCAL)
	// Forward is an input route through this host: dst.input is
	// ip_forward (net.ipv4.ip_forward = 1).
	Forward bool
}

// Nexthop is the address the neighbour layer must resolve.
func (rt *Rtable) Nexthop(daddr netip.Addr) netip.Addr {
	if rt.Gw.IsValid() {
		return rt.Gw
	}
	return daddr
}

// Flowi4 is struct flowi4: the flow the route was looked up for.
type Flowi4 struct {
	Saddr, Daddr netip.Addr
	Sport, Dport uint16
	Proto        uint8
	TOS          uint8
}

// ipRouteOutputFlow is ip_route_output_flow(): the longest matching
// prefix of the FIB, or -ENETUNREACH.
func (n *Net) ipRouteOutputFlow(k *kernel.Kernel, fl *Flowi4) (*Rtable, int) {
	e := k.Call(fnIPRouteOutputFlow)
	// The local table comes first: our own addresses go through lo.
	if n.isLocal(fl.Daddr) {
		lo := n.loopback()
		if lo == nil {
			return nil, int(kernel.Ret(k, fnIPRouteOutputFlow, kernel.Err(-kernel.ENETUNREACH)))
		}
		if !fl.Saddr.IsValid() {
			fl.Saddr = fl.Daddr
		}
		e.Note = "local table: " + fl.Daddr.String() + " is ours, RTN_LOCAL dev lo"
		if !lo.Up {
			// Local routes have host scope: taking lo down does not kill
			// them (fib_sync_down_dev spares RT_SCOPE_NOWHERE nexthops
			// unless forced), and __mkroute_output does not look at
			// IFF_UP. The packet dies later, in lo's noop_qdisc.
			e.Note += " (lo is down, but local routes survive that)"
		}
		rt := &Rtable{Dev: lo, Src: fl.Saddr, MTU: lo.MTU, Local: true}
		k.RetS(fnIPRouteOutputFlow, "rt dev lo")
		return rt, 0
	}
	var best *Route
	for i := range n.Routes {
		r := &n.Routes[i]
		if r.Dst.Contains(fl.Daddr) && r.Dev.Up && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
			best = r
		}
	}
	if best == nil {
		e.Note = "fib_lookup: no route to " + fl.Daddr.String()
		return nil, int(kernel.Ret(k, fnIPRouteOutputFlow, kernel.Err(-kernel.ENETUNREACH)))
	}
	rt := &Rtable{Dev: best.Dev, Gw: best.Gw, Src: best.Src, MTU: best.Dev.MTU, Route: *best}
	if !fl.Saddr.IsValid() {
		fl.Saddr = best.Src
	}
	e.Note = "fib_lookup: " + best.String()
	k.RetS(fnIPRouteOutputFlow, fmt.Sprintf("rt dev %s", rt.Dev.Name))
	return rt, 0
}

func (n *Net) loopback() *core.Device {
	for _, d := range n.Core.Devices {
		if d.Loopback {
			return d
		}
	}
	return nil
}
