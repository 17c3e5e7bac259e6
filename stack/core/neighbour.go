package core

import (
	"net/netip"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const neighbourH = "include/net/neighbour.h"

var (
	fnNeighOutput   = kernel.NewFn("neigh_output", neighbourH, "neigh")
	fnNeighHHOutput = kernel.NewFn("neigh_hh_output", neighbourH, "neigh")
)

// NUD is a neighbour's reachability state (include/net/neighbour.h).
type NUD uint8

// NUD states the model uses so far.
const (
	NUDNone NUD = iota
	NUDReachable
	NUDPermanent
)

func (n NUD) String() string {
	return [...]string{"NUD_NONE", "NUD_REACHABLE", "NUD_PERMANENT"}[n]
}

// Neighbour is struct neighbour: an IPv4 next hop and its link-layer
// address, with the cached hardware header (struct hh_cache).
type Neighbour struct {
	Key   netip.Addr
	Dev   *Device
	HA    header.MAC
	State NUD
	hh    []byte // the Ethernet header to prepend, filled once the address is known
}

// Connected is nud_state & NUD_CONNECTED.
func (n *Neighbour) Connected() bool { return n.State == NUDReachable || n.State == NUDPermanent }

// AddNeighbour is `ip neigh replace ADDR lladdr HA dev DEV nud STATE`: a
// resolved entry with its hh cache filled, as after the first use.
func (d *Device) AddNeighbour(addr netip.Addr, ha header.MAC, state NUD) *Neighbour {
	hh := make([]byte, header.EthernetLen)
	header.Ethernet(hh).Encode(ha, d.Addr, header.EtherTypeIPv4)
	n := &Neighbour{Key: addr, Dev: d, HA: ha, State: state, hh: hh}
	d.Net.Neighbours = append(d.Net.Neighbours, n)
	return n
}

// NeighLookup is __ipv4_neigh_lookup_noref(): the entry for key on dev.
func (n *Net) NeighLookup(dev *Device, key netip.Addr) *Neighbour {
	for _, x := range n.Neighbours {
		if x.Dev == dev && x.Key == key {
			return x
		}
	}
	return nil
}

// NeighOutput is neigh_output(): a connected neighbour with a cached
// header takes the fast path, neigh_hh_output.
func NeighOutput(k *kernel.Kernel, n *Neighbour, s *skb.SKB) NetXmit {
	e := k.Call(fnNeighOutput, s)
	if !n.Connected() || n.hh == nil {
		e.Note = n.Key.String() + " is " + n.State.String() + ": resolution arrives with the ARP lesson"
		n.Dev.TxDropped++
		KfreeSkbReason(k, s, skb.NotSpecified)
		return kernel.Ret(k, fnNeighOutput, NetXmit(-kernel.ENETDOWN))
	}
	e.Note = n.Key.String() + " is " + n.State.String() + " with a cached header: fast path"
	return kernel.Ret(k, fnNeighOutput, neighHHOutput(k, n, s))
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
