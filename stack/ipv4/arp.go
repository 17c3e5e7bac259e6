package ipv4

import (
	"fmt"
	"net/netip"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const arpC = "net/ipv4/arp.c"

var (
	fnArpSolicit     = kernel.NewFn("arp_solicit", arpC, "neigh")
	fnArpSendDst     = kernel.NewFn("arp_send_dst", arpC, "neigh")
	fnArpCreate      = kernel.NewFn("arp_create", arpC, "neigh")
	fnArpXmit        = kernel.NewFn("arp_xmit", arpC, "neigh")
	fnArpXmitFinish  = kernel.NewFn("arp_xmit_finish", arpC, "neigh")
	fnArpRcv         = kernel.NewFn("arp_rcv", arpC, "neigh")
	fnArpProcess     = kernel.NewFn("arp_process", arpC, "neigh")
	fnArpErrorReport = kernel.NewFn("arp_error_report", arpC, "neigh")
)

var fnArpNetdevEvent = kernel.NewFn("arp_netdev_event", arpC, "neigh")

// arpNetdevEvent is arp_netdev_event(), ARP's netdev notifier: on
// NETDEV_CHANGE without carrier, the device's neighbours are flushed
// (neigh_carrier_down; net.ipv4.conf.*.arp_evict_nocarrier is 1 by
// default), so the next packet resolves its address again. NETDEV_DOWN
// is fib_disable_ip's business (arp_ifdown).
func (n *Net) arpNetdevEvent(k *kernel.Kernel, ev core.NetdevEvent, dev *core.Device) {
	if ev != core.NetdevChange {
		return
	}
	e := k.Call(fnArpNetdevEvent)
	e.Note = string(ev)
	if dev.NoCarrier {
		e.Note += ": no carrier, arp_evict_nocarrier: forget the neighbours"
		n.Core.NeighCarrierDown(k, dev)
	}
	k.RetS(fnArpNetdevEvent, "NOTIFY_DONE")
}

// arpOps is arp_hh_ops, the neigh_ops of Ethernet ARP entries.
type arpOps struct{ n *Net }

// Solicit is arp_solicit(): ask for the entry's address, by broadcast
// while resolving, by unicast to the known address when re-probing. The
// sender address is the parked packet's source, if it is ours.
func (o arpOps) Solicit(k *kernel.Kernel, nb *core.Neighbour, s *skb.SKB) {
	e := k.Call(fnArpSolicit, s)
	saddr := nb.Dev.IPv4.Addr()
	if s != nil {
		if src := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen)).Src(); o.n.isLocal(src) {
			saddr = src
		}
	}
	dstHW, tha := header.Broadcast, header.MAC{}
	how := "broadcast"
	if nb.State == core.NUDProbe {
		dstHW, tha, how = nb.HA, nb.HA, "unicast"
	}
	e.Note = fmt.Sprintf("who-has %s tell %s (%s)", nb.Key, saddr, how)
	o.n.arpSendDst(k, header.ARPRequest, nb.Key, nb.Dev, saddr, dstHW, tha)
	k.RetVoid(fnArpSolicit)
}

// ErrorReport is arp_error_report(): the address could not be resolved;
// the sender of s is told (dst_link_failure).
func (o arpOps) ErrorReport(k *kernel.Kernel, nb *core.Neighbour, s *skb.SKB) {
	k.Call(fnArpErrorReport, s).Note = "dst_link_failure: ICMP host unreachable to the local sender"
	o.n.icmpSend(k, s, icmpDestUnreach, icmpHostUnreach)
	k.RetVoid(fnArpErrorReport)
}

// arpSendDst is arp_send_dst(): build an ARP packet (arp_create) and send
// it (arp_xmit).
func (n *Net) arpSendDst(k *kernel.Kernel, op uint16, tip netip.Addr, dev *core.Device, sip netip.Addr, dstHW, tha header.MAC) {
	k.Call(fnArpSendDst)
	s := n.arpCreate(k, op, tip, dev, sip, dstHW, tha)
	if s != nil {
		n.arpXmit(k, s, dev)
	}
	k.RetVoid(fnArpSendDst)
}

// arpCreate is arp_create(): an skb with room for the link header, the
// 28-byte ARP body, then dev_hard_header.
func (n *Net) arpCreate(k *kernel.Kernel, op uint16, tip netip.Addr, dev *core.Device, sip netip.Addr, dstHW, tha header.MAC) *skb.SKB {
	k.Call(fnArpCreate)
	hlen := dev.LLReservedSpace()
	s := core.AllocSkb(k, header.ARPLen+hlen)
	_ = s.Reserve(hlen)
	s.ResetNetworkHeader()
	b, _ := s.PutBytes(header.ARPLen)
	header.ARP(b).Encode(op, dev.Addr, sip, tha, tip)
	s.Dev = dev.Name
	s.Protocol = header.EtherTypeARP
	core.EthHeader(k, s, dev, dstHW, header.EtherTypeARP)
	return kernel.Ret(k, fnArpCreate, s, s)
}

// arpXmit is arp_xmit(): NF_ARP_OUT (no rules), then arp_xmit_finish →
// dev_queue_xmit.
func (n *Net) arpXmit(k *kernel.Kernel, s *skb.SKB, dev *core.Device) {
	k.Call(fnArpXmit, s)
	k.Call(fnArpXmitFinish, s)
	core.DevQueueXmit(k, dev, s)
	k.RetS(fnArpXmitFinish, "0")
	k.RetVoid(fnArpXmit)
}

// arpPacketType is arp_packet_type: ETH_P_ARP has only a per-skb func.
type arpPacketType struct{ n *Net }

// Name is what __netif_receive_skb_core reports it found.
func (arpPacketType) Name() string { return "arp_packet_type (arp_rcv)" }

// ListRcv hands each skb to arp_rcv: ARP has no list_func.
func (p arpPacketType) ListRcv(k *kernel.Kernel, list []*skb.SKB, dev *core.Device) {
	for _, s := range list {
		p.Rcv(k, s, dev)
	}
}

// Rcv is arp_rcv(): check the packet, then NF_ARP_IN and arp_process.
func (p arpPacketType) Rcv(k *kernel.Kernel, s *skb.SKB, dev *core.Device) {
	e := k.Call(fnArpRcv, s)
	if s.PktType == skb.PacketOtherhost {
		e.Note = "for another host: ignore"
		core.ConsumeSkb(k, s)
		k.RetS(fnArpRcv, "NET_RX_SUCCESS")
		return
	}
	a := header.ARP(s.At(s.DataOff(), header.ARPLen))
	if a == nil || s.Len() < header.ARPLen || a.HLen() != 6 || a.PLen() != 4 {
		e.Note = "not an Ethernet/IPv4 ARP packet"
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetS(fnArpRcv, "NET_RX_DROP")
		return
	}
	p.n.arpProcess(k, s, dev)
	k.RetS(fnArpRcv, "NET_RX_SUCCESS")
}

// arpProcess is arp_process(): answer requests for our addresses
// (learning the asker's address on the way) and feed replies to the
// neighbour table.
func (n *Net) arpProcess(k *kernel.Kernel, s *skb.SKB, dev *core.Device) {
	e := k.Call(fnArpProcess, s)
	a := header.ARP(s.At(s.DataOff(), header.ARPLen))
	if a.HType() != 1 || a.PType() != header.EtherTypeIPv4 || (a.Op() != header.ARPRequest && a.Op() != header.ARPReply) {
		e.Note = "unsupported hardware/protocol type or opcode"
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetS(fnArpProcess, "NET_RX_DROP")
		return
	}
	sha, sip, tip := a.SHA(), a.SIP(), a.TIP()
	if a.Op() == header.ARPRequest {
		if n.isLocal(tip) && dev.IPv4.Addr() == tip {
			e.Note = fmt.Sprintf("who-has %s tell %s: that is us, reply", tip, sip)
			n.Core.NeighEventNS(k, dev, sip, sha)
			n.arpSendDst(k, header.ARPReply, sip, dev, tip, sha, sha)
		} else {
			e.Note = fmt.Sprintf("who-has %s: not ours", tip)
		}
		core.ConsumeSkb(k, s)
		k.RetS(fnArpProcess, "NET_RX_SUCCESS")
		return
	}
	nb := n.Core.NeighLookup(dev, sip)
	if nb == nil {
		e.Note = fmt.Sprintf("%s is-at %s: no entry waits for it", sip, sha)
	} else {
		state := core.NUDReachable
		if s.PktType != skb.PacketHost {
			state = core.NUDStale
		}
		e.Note = fmt.Sprintf("%s is-at %s: update the entry", sip, sha)
		n.Core.NeighUpdate(k, nb, sha, state)
	}
	core.ConsumeSkb(k, s)
	k.RetS(fnArpProcess, "NET_RX_SUCCESS")
}
