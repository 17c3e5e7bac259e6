package core

import (
	"fmt"
	"net/netip"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const (
	neighbourH = "include/net/neighbour.h"
	neighbourC = "net/core/neighbour.c"
)

var (
	fnNeighOutput        = kernel.NewFn("neigh_output", neighbourH, "neigh")
	fnNeighHHOutput      = kernel.NewFn("neigh_hh_output", neighbourH, "neigh")
	fnNeighCreate        = kernel.NewFn("__neigh_create", neighbourC, "neigh")
	fnNeighDirectOutput  = kernel.NewFn("neigh_direct_output", neighbourC, "neigh")
	fnNeighResolveOutput = kernel.NewFn("neigh_resolve_output", neighbourC, "neigh")
	fnNeighEventSend     = kernel.NewFn("__neigh_event_send", neighbourC, "neigh")
	fnNeighProbe         = kernel.NewFn("neigh_probe", neighbourC, "neigh")
	fnNeighTimerHandler  = kernel.NewFn("neigh_timer_handler", neighbourC, "neigh")
	fnNeighInvalidate    = kernel.NewFn("neigh_invalidate", neighbourC, "neigh")
	fnNeighUpdate        = kernel.NewFn("__neigh_update", neighbourC, "neigh")
	fnNeighHHInit        = kernel.NewFn("neigh_hh_init", neighbourC, "neigh")
	fnEthHeader          = kernel.NewFn("eth_header", "net/ethernet/eth.c", "neigh")
)

// Drop reasons of the neighbour layer.
const (
	dropNeighFailed    skb.Reason = "SKB_DROP_REASON_NEIGH_FAILED"
	dropNeighQueueFull skb.Reason = "SKB_DROP_REASON_NEIGH_QUEUEFULL"
)

// NUD is a neighbour's reachability state (include/uapi/linux/neighbour.h).
type NUD uint8

// NUD states.
const (
	NUDNone NUD = iota
	NUDIncomplete
	NUDReachable
	NUDStale
	NUDDelay
	NUDProbe
	NUDFailed
	NUDNoARP
	NUDPermanent
)

func (n NUD) String() string {
	return [...]string{"NUD_NONE", "NUD_INCOMPLETE", "NUD_REACHABLE", "NUD_STALE", "NUD_DELAY",
		"NUD_PROBE", "NUD_FAILED", "NUD_NOARP", "NUD_PERMANENT"}[n]
}

// Connected is NUD_CONNECTED: the address is good to use without asking.
func (n NUD) Connected() bool { return n == NUDReachable || n == NUDNoARP || n == NUDPermanent }

// valid is NUD_VALID: an address is known, perhaps stale.
func (n NUD) valid() bool { return n != NUDNone && n != NUDIncomplete && n != NUDFailed }

// NeighParms are the arp_tbl defaults (net/ipv4/arp.c), in ns.
type NeighParms struct {
	UcastProbes, McastProbes, AppProbes int
	RetransTime, BaseReachableTime      int64
	DelayProbeTime                      int64
	QueueLenBytes                       int
}

// DefaultARPParms are arp_tbl's parameters.
var DefaultARPParms = NeighParms{
	UcastProbes: 3, McastProbes: 3,
	RetransTime: 1_000_000_000, BaseReachableTime: 30_000_000_000,
	DelayProbeTime: 5_000_000_000, QueueLenBytes: 212992,
}

// NeighOps is struct neigh_ops: what the protocol (ARP) does for an entry.
type NeighOps interface {
	Solicit(k *kernel.Kernel, n *Neighbour, s *skb.SKB)     // arp_solicit
	ErrorReport(k *kernel.Kernel, n *Neighbour, s *skb.SKB) // arp_error_report
}

// Neighbour is struct neighbour: an IPv4 next hop, its link-layer
// address, its state and timer, the cached hardware header (hh_cache) and
// the skbs parked while it is being resolved (arp_queue).
type Neighbour struct {
	Key   netip.Addr
	Dev   *Device
	HA    header.MAC
	State NUD
	Ops   NeighOps
	Parms NeighParms

	hh            []byte
	direct        bool // n->output is neigh_direct_output
	arpQueue      []*skb.SKB
	arpQueueBytes int
	probes        int
	timer         kernel.Timer
	confirmed     int64
	used          int64
	reachable     int64 // reachable_time: random in [base/2, 3*base/2)
}

// QueueName is how the trace names the entry's arp_queue.
func (n *Neighbour) QueueName() string { return "arp_queue " + n.Key.String() }

func (n *Neighbour) setState(k *kernel.Kernel, s NUD, why string) {
	if n.State == s {
		return
	}
	e := k.Event(trace.State, nil)
	e.Note = fmt.Sprintf("neighbour %s dev %s: %s → %s (%s)", n.Key, n.Dev.Name, n.State, s, why)
	n.State = s
}

// AddNeighbour is `ip neigh replace ADDR lladdr HA dev DEV nud STATE`: a
// resolved entry with its hh cache filled, as after its first use.
func (d *Device) AddNeighbour(addr netip.Addr, ha header.MAC, state NUD) *Neighbour {
	n := d.Net.newNeighbour(d, addr)
	n.HA, n.State = ha, state
	n.hh = ethHeaderFor(ha, d.Addr)
	return n
}

func ethHeaderFor(dst, src header.MAC) []byte {
	hh := make([]byte, header.EthernetLen)
	header.Ethernet(hh).Encode(dst, src, header.EtherTypeIPv4)
	return hh
}

func (net *Net) newNeighbour(d *Device, addr netip.Addr) *Neighbour {
	k := net.K
	n := &Neighbour{Key: addr, Dev: d, Parms: DefaultARPParms, Ops: net.NeighOps}
	base := n.Parms.BaseReachableTime
	n.reachable = base/2 + k.Sim.Rand().Int64N(base)
	n.timer = kernel.Timer{Name: "neigh_timer_handler", Fn: func() { net.neighTimerHandler(k, n) }}
	net.Neighbours = append(net.Neighbours, n)
	return n
}

// NeighLookup is __ipv4_neigh_lookup_noref(): the entry for key on dev.
func (net *Net) NeighLookup(dev *Device, key netip.Addr) *Neighbour {
	for _, x := range net.Neighbours {
		if x.Dev == dev && x.Key == key {
			return x
		}
	}
	return nil
}

// NeighCreate is __neigh_create(): a new NUD_NONE entry whose constructor
// (arp_constructor) chose neigh_resolve_output as its output.
func (net *Net) NeighCreate(k *kernel.Kernel, dev *Device, key netip.Addr) *Neighbour {
	e := k.Call(fnNeighCreate)
	n := net.newNeighbour(dev, key)
	if dev.NoHeaderOps {
		// arp_constructor: a device without header_ops (ppp) has no
		// hardware address to learn and no header to build.
		n.State, n.direct = NUDNoARP, true
		e.Note = "arp_constructor: no dev->header_ops, NUD_NOARP, output = neigh_direct_output"
	} else if dev.Loopback {
		// arp_constructor: no ARP on lo; the address is the device's own.
		n.State, n.HA = NUDNoARP, dev.Addr
		e.Note = "arp_constructor: IFF_LOOPBACK, NUD_NOARP with lo's own address"
	} else {
		e.Note = "arp_constructor: NUD_NONE, output = neigh_resolve_output"
	}
	k.RetS(fnNeighCreate, "neigh "+key.String())
	return n
}

// NeighOutput is neigh_output(): a connected neighbour with a cached
// header takes the fast path, neigh_hh_output; any other goes through
// n->output, neigh_resolve_output.
func NeighOutput(k *kernel.Kernel, n *Neighbour, s *skb.SKB) NetXmit {
	e := k.Call(fnNeighOutput, s)
	n.used = k.Now()
	if n.State.Connected() && n.hh != nil {
		e.Note = n.Key.String() + " is " + n.State.String() + " with a cached header: fast path"
		return kernel.Ret(k, fnNeighOutput, neighHHOutput(k, n, s))
	}
	if n.direct {
		e.Note = n.Key.String() + " is " + n.State.String() + " without a cached header: n->output = neigh_direct_output"
		return kernel.Ret(k, fnNeighOutput, neighDirectOutput(k, n, s))
	}
	e.Note = n.Key.String() + " is " + n.State.String() + ": n->output = neigh_resolve_output"
	return kernel.Ret(k, fnNeighOutput, n.Dev.Net.neighResolveOutput(k, n, s))
}

// neighDirectOutput is neigh_direct_output(), the output of a neighbour
// on a device with no link-layer header to add: straight to
// dev_queue_xmit, the frame is the IP packet.
func neighDirectOutput(k *kernel.Kernel, n *Neighbour, s *skb.SKB) NetXmit {
	k.Call(fnNeighDirectOutput, s)
	return kernel.Ret(k, fnNeighDirectOutput, DevQueueXmit(k, n.Dev, s))
}

// neighHHOutput is neigh_hh_output(): copy the cached Ethernet header in
// front of the IP header (__skb_push) and queue the frame on the device.
func neighHHOutput(k *kernel.Kernel, n *Neighbour, s *skb.SKB) NetXmit {
	k.Call(fnNeighHHOutput, s)
	h, err := s.Push(len(n.hh))
	if err != nil {
		k.Note(trace.State, "not enough headroom for the hardware header: "+err.Error(), s)
		KfreeSkbReason(k, s, skb.NotSpecified)
		return kernel.Ret(k, fnNeighHHOutput, NetXmitDrop)
	}
	copy(h, n.hh)
	return kernel.Ret(k, fnNeighHHOutput, DevQueueXmit(k, n.Dev, s))
}

// neighResolveOutput is neigh_resolve_output(): if the address is not
// known yet, __neigh_event_send parks the skb and 0 is returned; else
// fill the hh cache the first time, build the header and transmit.
func (net *Net) neighResolveOutput(k *kernel.Kernel, n *Neighbour, s *skb.SKB) NetXmit {
	k.Call(fnNeighResolveOutput, s)
	if net.neighEventSend(k, n, s) != 0 {
		return kernel.Ret(k, fnNeighResolveOutput, NetXmitSuccess)
	}
	if n.hh == nil {
		k.Call(fnNeighHHInit).Note = "eth_header_cache: remember the header for the fast path"
		n.hh = ethHeaderFor(n.HA, n.Dev.Addr)
		k.RetVoid(fnNeighHHInit)
	}
	if r := EthHeader(k, s, n.Dev, n.HA, header.EtherTypeIPv4); r < 0 {
		KfreeSkbReason(k, s, skb.NotSpecified)
		return kernel.Ret(k, fnNeighResolveOutput, NetXmit(-kernel.EINVAL))
	}
	return kernel.Ret(k, fnNeighResolveOutput, DevQueueXmit(k, n.Dev, s))
}

// EthHeader is dev_hard_header() → eth_header(): push and fill the
// Ethernet header.
func EthHeader(k *kernel.Kernel, s *skb.SKB, dev *Device, dst header.MAC, etherType uint16) int {
	e := k.Call(fnEthHeader, s)
	h, err := s.Push(header.EthernetLen)
	if err != nil {
		e.Note = err.Error()
		return int(kernel.Ret(k, fnEthHeader, kernel.Err(-kernel.EINVAL)))
	}
	header.Ethernet(h).Encode(dst, dev.Addr, etherType)
	e.Note = fmt.Sprintf("%s → %s, 0x%04x", dev.Addr, dst, etherType)
	return int(kernel.Ret(k, fnEthHeader, kernel.Err(header.EthernetLen)))
}

// neighEventSend is __neigh_event_send(): 0 when the skb may go now; 1
// when it was parked on arp_queue (starting resolution if needed) or
// dropped.
func (net *Net) neighEventSend(k *kernel.Kernel, n *Neighbour, s *skb.SKB) int {
	e := k.Call(fnNeighEventSend, s)
	k.LocalBhDisable()
	rc, probe := 0, false
	switch n.State {
	case NUDReachable, NUDNoARP, NUDPermanent, NUDDelay, NUDProbe:
		e.Note = n.State.String() + ": send now"
	case NUDStale:
		k.DelTimer(&n.timer)
		n.setState(k, NUDDelay, "used while stale: confirm within delay_probe_time")
		k.ModTimer(&n.timer, k.Now()+n.Parms.DelayProbeTime)
		e.Note = "stale address used as is; confirmation may follow"
	case NUDNone, NUDFailed:
		n.probes = n.Parms.UcastProbes
		k.DelTimer(&n.timer)
		n.setState(k, NUDIncomplete, "resolution starts")
		k.ModTimer(&n.timer, k.Now()+max(n.Parms.RetransTime, 2*kernel.Jiffy)) // HZ/100
		probe = true
	}
	if n.State == NUDIncomplete {
		for n.arpQueueBytes+s.Truesize > n.Parms.QueueLenBytes && len(n.arpQueue) > 0 {
			old := n.arpQueue[0]
			n.arpQueue = n.arpQueue[1:]
			n.arpQueueBytes -= old.Truesize
			k.Dequeue(n.QueueName(), len(n.arpQueue), old)
			KfreeSkbReason(k, old, dropNeighQueueFull)
		}
		n.arpQueue = append(n.arpQueue, s)
		n.arpQueueBytes += s.Truesize
		k.Enqueue(n.QueueName(), len(n.arpQueue), s).Note = "parked until " + n.Key.String() + " is resolved"
		rc = 1
	}
	if probe {
		net.neighProbe(k, n)
	}
	k.LocalBhEnable()
	return int(kernel.Ret(k, fnNeighEventSend, kernel.Err(rc)))
}

// neighProbe is neigh_probe(): solicit (arp_solicit) with a clone of the
// newest parked skb, whose source address the request borrows.
func (net *Net) neighProbe(k *kernel.Kernel, n *Neighbour) {
	k.Call(fnNeighProbe)
	var c *skb.SKB
	if l := len(n.arpQueue); l > 0 {
		c = SkbClone(k, n.arpQueue[l-1])
	}
	if n.Ops != nil {
		n.Ops.Solicit(k, n, c)
	}
	n.probes++
	if c != nil {
		ConsumeSkb(k, c)
	}
	k.RetVoid(fnNeighProbe)
}

// maxProbes is neigh_max_probes() while resolving.
func (n *Neighbour) maxProbes() int {
	if n.State == NUDProbe {
		return n.Parms.UcastProbes + n.Parms.AppProbes
	}
	return n.Parms.UcastProbes + n.Parms.AppProbes + n.Parms.McastProbes
}

// neighTimerHandler is neigh_timer_handler(): age a reachable entry to
// delay or stale, turn delay into probe, and retry or give up while
// resolving.
func (net *Net) neighTimerHandler(k *kernel.Kernel, n *Neighbour) {
	e := k.Call(fnNeighTimerHandler)
	now := k.Now()
	switch n.State {
	case NUDReachable:
		switch {
		case now <= n.confirmed+n.reachable:
			k.ModTimer(&n.timer, n.confirmed+n.reachable)
		case now <= n.used+n.Parms.DelayProbeTime:
			n.setState(k, NUDDelay, "not confirmed for reachable_time, but in use")
			k.ModTimer(&n.timer, now+n.Parms.DelayProbeTime)
		default:
			n.setState(k, NUDStale, "not confirmed for reachable_time")
		}
	case NUDDelay:
		if now <= n.confirmed+n.Parms.DelayProbeTime {
			n.setState(k, NUDReachable, "confirmed meanwhile")
			k.ModTimer(&n.timer, n.confirmed+n.reachable)
		} else {
			n.setState(k, NUDProbe, "no confirmation: ask by unicast")
			n.probes = 0
			k.ModTimer(&n.timer, now+n.Parms.RetransTime)
			net.neighProbe(k, n)
		}
	case NUDIncomplete, NUDProbe:
		if n.probes >= n.maxProbes() {
			e.Note = fmt.Sprintf("%d probes unanswered", n.probes)
			n.setState(k, NUDFailed, "no answer")
			net.neighInvalidate(k, n)
		} else {
			k.ModTimer(&n.timer, now+n.Parms.RetransTime)
			net.neighProbe(k, n)
		}
	}
	k.RetVoid(fnNeighTimerHandler)
}

// neighInvalidate is neigh_invalidate(): report each parked skb's failure
// (arp_error_report: ICMP host unreachable to the sender) and drop it.
func (net *Net) neighInvalidate(k *kernel.Kernel, n *Neighbour) {
	k.Call(fnNeighInvalidate)
	for len(n.arpQueue) > 0 {
		s := n.arpQueue[0]
		n.arpQueue = n.arpQueue[1:]
		n.arpQueueBytes -= s.Truesize
		k.Dequeue(n.QueueName(), len(n.arpQueue), s)
		if n.Ops != nil {
			n.Ops.ErrorReport(k, n, s)
		}
		KfreeSkbReason(k, s, dropNeighFailed)
	}
	n.arpQueueBytes = 0
	k.RetVoid(fnNeighInvalidate)
}

// NeighUpdate is neigh_update() → __neigh_update(): learn lladdr and the
// new state; an entry that becomes valid sends everything parked on its
// arp_queue, from the caller's context (NET_RX for an ARP reply).
func (net *Net) NeighUpdate(k *kernel.Kernel, n *Neighbour, lladdr header.MAC, state NUD) {
	e := k.Call(fnNeighUpdate)
	old := n.State
	k.LocalBhDisable()
	n.confirmed = k.Now()
	if lladdr != n.HA {
		n.HA = lladdr
		n.hh = nil // neigh_update_hhs refreshes the cache; rebuilt on next use
	}
	if state != old {
		k.DelTimer(&n.timer)
		n.setState(k, state, "neigh_update")
		if state == NUDReachable {
			k.ModTimer(&n.timer, k.Now()+n.reachable)
		}
	}
	e.Note = fmt.Sprintf("%s is at %s", n.Key, lladdr)
	if !old.valid() && state.valid() && len(n.arpQueue) > 0 {
		q := n.arpQueue
		n.arpQueue, n.arpQueueBytes = nil, 0
		for i, s := range q {
			k.Dequeue(n.QueueName(), len(q)-i-1, s).Note = "resolved: send the parked skb now"
			net.neighResolveOutput(k, n, s)
		}
	}
	k.LocalBhEnable()
	k.RetVoid(fnNeighUpdate)
}

// NeighEventNS is neigh_event_ns(): someone asked us for our address, so
// we learn theirs (NUD_STALE), creating the entry if needed.
func (net *Net) NeighEventNS(k *kernel.Kernel, dev *Device, addr netip.Addr, lladdr header.MAC) *Neighbour {
	n := net.NeighLookup(dev, addr)
	if n == nil {
		n = net.NeighCreate(k, dev, addr)
	}
	if !n.State.Connected() || n.HA != lladdr {
		net.NeighUpdate(k, n, lladdr, NUDStale)
	}
	return n
}

var (
	fnNeighIfdown      = kernel.NewFn("neigh_ifdown", "net/core/neighbour.c", "neigh")
	fnNeighCarrierDown = kernel.NewFn("neigh_carrier_down", "net/core/neighbour.c", "neigh")
)

// NeighIfdown is neigh_ifdown() → neigh_flush_dev(): every entry on dev
// dies, its timer stopped and the skbs parked on its arp_queue freed.
// Nobody holds the entries in the model, so they leave the table.
func (net *Net) NeighIfdown(k *kernel.Kernel, dev *Device) {
	net.neighFlushDev(k, dev, fnNeighIfdown, false)
}

// NeighCarrierDown is neigh_carrier_down(): as neigh_ifdown, but
// permanent entries (`ip neigh add … nud permanent`) survive.
func (net *Net) NeighCarrierDown(k *kernel.Kernel, dev *Device) {
	net.neighFlushDev(k, dev, fnNeighCarrierDown, true)
}

func (net *Net) neighFlushDev(k *kernel.Kernel, dev *Device, fn *kernel.Fn, skipPerm bool) {
	k.Call(fn)
	var kept []*Neighbour
	for _, n := range net.Neighbours {
		if n.Dev != dev || skipPerm && n.State == NUDPermanent {
			kept = append(kept, n)
			continue
		}
		k.DelTimer(&n.timer)
		for i, s := range n.arpQueue {
			k.Dequeue(n.QueueName(), len(n.arpQueue)-i-1, s)
			KfreeSkbReason(k, s, skb.QueuePurge)
		}
		n.arpQueue, n.arpQueueBytes = nil, 0
		k.Note(trace.State, fmt.Sprintf("neigh %s dev %s: %s → dead", n.Key, dev.Name, n.State))
	}
	net.Neighbours = kept
	k.RetVoid(fn)
}
