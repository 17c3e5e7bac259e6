package ipv4

import (
	"fmt"
	"net/netip"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/netfilter"
	"skbscope/stack/skb"
)

const ipInputC = "net/ipv4/ip_input.c"

var (
	fnIPRcv                = kernel.NewFn("ip_rcv", ipInputC, "ip")
	fnIPListRcv            = kernel.NewFn("ip_list_rcv", ipInputC, "ip")
	fnIPRcvCore            = kernel.NewFn("ip_rcv_core", ipInputC, "ip")
	fnIPSublistRcv         = kernel.NewFn("ip_sublist_rcv", ipInputC, "ip")
	fnIPListRcvFinish      = kernel.NewFn("ip_list_rcv_finish", ipInputC, "ip")
	fnIPRcvFinish          = kernel.NewFn("ip_rcv_finish", ipInputC, "ip")
	fnIPRcvFinishCore      = kernel.NewFn("ip_rcv_finish_core", ipInputC, "ip")
	fnUDPV4EarlyDemux      = kernel.NewFn("udp_v4_early_demux", udpC, "udp")
	fnIPRouteInputNoref    = kernel.NewFn("ip_route_input_noref", "net/ipv4/route.c", "ip")
	fnIPSublistRcvFinish   = kernel.NewFn("ip_sublist_rcv_finish", ipInputC, "ip")
	fnDstInput             = kernel.NewFn("dst_input", "include/net/dst.h", "ip")
	fnIPLocalDeliver       = kernel.NewFn("ip_local_deliver", ipInputC, "ip")
	fnIPLocalDeliverFinish = kernel.NewFn("ip_local_deliver_finish", ipInputC, "ip")
	fnIPProtocolDeliver    = kernel.NewFn("ip_protocol_deliver_rcu", ipInputC, "ip")
	fnRawLocalDeliver      = kernel.NewFn("raw_local_deliver", "net/ipv4/raw.c", "ip")
)

// Drop reasons of the IPv4 input path.
const (
	dropOtherhost    skb.Reason = "SKB_DROP_REASON_OTHERHOST"
	dropIPInhdr      skb.Reason = "SKB_DROP_REASON_IP_INHDR"
	dropIPCsum       skb.Reason = "SKB_DROP_REASON_IP_CSUM"
	dropPktTooSmall  skb.Reason = "SKB_DROP_REASON_PKT_TOO_SMALL"
	dropIPInaddrErrs skb.Reason = "SKB_DROP_REASON_IP_INADDRERRORS"
	dropIPNoproto    skb.Reason = "SKB_DROP_REASON_IP_NOPROTO"
)

// ipPacketType is ip_packet_type: ETH_P_IP's handlers.
type ipPacketType struct{ n *Net }

// Name is what __netif_receive_skb_core reports it found.
func (ipPacketType) Name() string { return "ip_packet_type (ip_rcv, ip_list_rcv)" }

// Rcv is ip_rcv(), used by netif_receive_skb callers and the backlog.
func (p ipPacketType) Rcv(k *kernel.Kernel, s *skb.SKB, dev *core.Device) {
	n := p.n
	k.Call(fnIPRcv, s)
	if !n.ipRcvCore(k, s, dev) {
		k.RetS(fnIPRcv, "NET_RX_DROP")
		return
	}
	if n.nfHook(k, netfilter.PreRouting, s) != 1 {
		k.RetS(fnIPRcv, "NET_RX_DROP")
		return
	}
	k.Call(fnIPRcvFinish, s)
	if n.ipRcvFinishCore(k, s, dev) {
		n.dstInput(k, s)
	}
	k.RetS(fnIPRcvFinish, "NET_RX_SUCCESS")
	k.RetS(fnIPRcv, "NET_RX_SUCCESS")
}

// ListRcv is ip_list_rcv(): the path a GRO driver's packets take in 6.12.
// Each skb passes ip_rcv_core, then the sublist goes through PRE_ROUTING,
// routing (ip_rcv_finish_core) and dst_input together.
func (p ipPacketType) ListRcv(k *kernel.Kernel, list []*skb.SKB, dev *core.Device) {
	n := p.n
	k.Call(fnIPListRcv, list...)
	var ok []*skb.SKB
	for _, s := range list {
		if n.ipRcvCore(k, s, dev) {
			ok = append(ok, s)
		}
	}
	if len(ok) > 0 {
		k.Call(fnIPSublistRcv, ok...)
		// NF_HOOK_LIST: the survivors of PRE_ROUTING go on together.
		var passed []*skb.SKB
		for _, s := range ok {
			if n.nfHook(k, netfilter.PreRouting, s) == 1 {
				passed = append(passed, s)
			}
		}
		k.Call(fnIPListRcvFinish, passed...)
		var routed []*skb.SKB
		for _, s := range passed {
			if n.ipRcvFinishCore(k, s, dev) {
				routed = append(routed, s)
			}
		}
		if len(routed) > 0 {
			k.Call(fnIPSublistRcvFinish, routed...)
			for _, s := range routed {
				n.dstInput(k, s)
			}
			k.RetVoid(fnIPSublistRcvFinish)
		}
		k.RetVoid(fnIPListRcvFinish)
		k.RetVoid(fnIPSublistRcv)
	}
	k.RetVoid(fnIPListRcv)
}

// ipRcvCore is ip_rcv_core(): the sanity checks every IPv4 packet must
// pass, then trim the Ethernet padding and find the transport header.
func (n *Net) ipRcvCore(k *kernel.Kernel, s *skb.SKB, dev *core.Device) bool {
	e := k.Call(fnIPRcvCore, s)
	drop := func(r skb.Reason, why string) bool {
		e.Note = why
		core.KfreeSkbReason(k, s, r)
		k.RetS(fnIPRcvCore, "NULL")
		return false
	}
	if s.PktType == skb.PacketOtherhost {
		return drop(dropOtherhost, "the frame was for another MAC address (PACKET_OTHERHOST)")
	}
	h := header.IPv4(s.At(s.DataOff(), header.IPv4MinLen))
	if h == nil || s.Len() < header.IPv4MinLen {
		return drop(dropIPInhdr, "shorter than an IPv4 header")
	}
	ihl := h.IHL()
	if ihl < header.IPv4MinLen || h.Version() != 4 || s.Len() < ihl {
		return drop(dropIPInhdr, fmt.Sprintf("version %d, ihl %d: not a valid IPv4 header", h.Version(), ihl/4))
	}
	h = header.IPv4(s.At(s.DataOff(), ihl))
	if !h.ChecksumValid() {
		return drop(dropIPCsum, "bad IPv4 header checksum")
	}
	tot := h.TotalLen()
	if s.Len() < tot || tot < ihl {
		return drop(dropPktTooSmall, fmt.Sprintf("tot_len %d but %d bytes arrived", tot, s.Len()))
	}
	if pad := s.Len() - tot; pad > 0 {
		s.Trim(tot)
		e.Note = fmt.Sprintf("header valid; pskb_trim_rcsum drops %d bytes of Ethernet padding", pad)
	} else {
		e.Note = "header valid"
	}
	s.TransportHeader = s.NetworkHeader + ihl
	s.InetSkbParm().Clear()
	s.InetSkbParm().SetIif(dev.Ifindex)
	k.RetS(fnIPRcvCore, "skb", s)
	return true
}

// ipRcvFinishCore is ip_rcv_finish_core(): early demux, then the input
// route: local delivery, or (forwarding being off) an error.
func (n *Net) ipRcvFinishCore(k *kernel.Kernel, s *skb.SKB, dev *core.Device) bool {
	k.Call(fnIPRcvFinishCore, s)
	h := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	if h.Protocol() == header.ProtoUDP {
		k.Call(fnUDPV4EarlyDemux, s).Note = "no connected socket to attach early: leave it to the route lookup"
		k.RetS(fnUDPV4EarlyDemux, "0")
	}
	e := k.Call(fnIPRouteInputNoref, s)
	if !n.isLocal(h.Dst()) {
		if n.Forwarding {
			if rt := n.ipMkrouteInput(h.Dst()); rt != nil {
				e.Note = fmt.Sprintf("%s is not ours; ip_forward is 1 and fib_lookup gives %s: dst.input = ip_forward, dst.output = ip_output", h.Dst(), rt.Route)
				s.Dst = rt
				k.RetS(fnIPRouteInputNoref, "0")
				k.RetS(fnIPRcvFinishCore, "NET_RX_SUCCESS")
				return true
			}
			e.Note = h.Dst().String() + " is not ours and no route leads there: -ENETUNREACH, ip_error"
			k.RetS(fnIPRouteInputNoref, kernel.Err(-kernel.ENETUNREACH).String())
			core.KfreeSkbReason(k, s, dropIPInaddrErrs)
			k.RetS(fnIPRcvFinishCore, "NET_RX_DROP")
			return false
		}
		e.Note = h.Dst().String() + " is not ours and ip_forward is 0: -EHOSTUNREACH, ip_error"
		k.RetS(fnIPRouteInputNoref, kernel.Err(-kernel.EHOSTUNREACH).String())
		core.KfreeSkbReason(k, s, dropIPInaddrErrs)
		k.RetS(fnIPRcvFinishCore, "NET_RX_DROP")
		return false
	}
	e.Note = "local " + h.Dst().String() + " dev " + dev.Name + ": dst.input = ip_local_deliver"
	s.Dst = &Rtable{Dev: dev, Src: h.Dst(), MTU: dev.MTU, Local: true}
	k.RetS(fnIPRouteInputNoref, "0")
	k.RetS(fnIPRcvFinishCore, "NET_RX_SUCCESS")
	return true
}

// isLocal reports whether addr is one of this host's addresses.
func (n *Net) isLocal(addr netip.Addr) bool {
	for _, d := range n.Core.Devices {
		if d.IPv4.IsValid() && (d.IPv4.Addr() == addr || d.Loopback && d.IPv4.Contains(addr)) {
			return true
		}
	}
	return false
}

// ipMkrouteInput is what ip_route_input_slow and __mkroute_input make of
// a packet for another host when forwarding is on: the FIB's longest
// matching prefix through an up device, as a forwarding input route
// (nil if there is none).
func (n *Net) ipMkrouteInput(daddr netip.Addr) *Rtable {
	var best *Route
	for i := range n.Routes {
		r := &n.Routes[i]
		if r.Dst.Contains(daddr) && r.Dev.Up && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	return &Rtable{Dev: best.Dev, Gw: best.Gw, Src: best.Src, MTU: best.Dev.MTU, Route: *best, Forward: true}
}

// dstInput is dst_input(): skb_dst(skb)->input, ip_local_deliver for a
// local route and ip_forward for a forwarding one.
func (n *Net) dstInput(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnDstInput, s)
	if rt, ok := s.Dst.(*Rtable); ok && rt.Forward {
		n.ipForward(k, s)
		k.RetS(fnDstInput, "0")
		return
	}
	n.ipLocalDeliver(k, s)
	k.RetS(fnDstInput, "0")
}

// ipLocalDeliver is ip_local_deliver(): reassemble fragments, then pass
// NF_INET_LOCAL_IN into ip_local_deliver_finish.
func (n *Net) ipLocalDeliver(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnIPLocalDeliver, s)
	h := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	if ipIsFragment(h) {
		e.Note = "a fragment (MF or an offset): ip_defrag"
		if s = n.ipDefrag(k, s); s == nil {
			k.RetS(fnIPLocalDeliver, "0")
			return
		}
	}
	if n.nfHook(k, netfilter.LocalIn, s) == 1 {
		n.ipLocalDeliverFinish(k, s)
	}
	k.RetS(fnIPLocalDeliver, "0")
}

// ipLocalDeliverFinish is ip_local_deliver_finish(): pull the IP header
// off and hand the packet to its protocol.
func (n *Net) ipLocalDeliverFinish(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnIPLocalDeliverFinish, s)
	_ = s.Pull(s.TransportHeader - s.DataOff())
	h := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	n.ipProtocolDeliverRcu(k, s, h.Protocol())
	k.RetS(fnIPLocalDeliverFinish, "0")
}

// ipProtocolDeliverRcu is ip_protocol_deliver_rcu(): raw sockets first,
// then inet_protos[protocol]->handler.
func (n *Net) ipProtocolDeliverRcu(k *kernel.Kernel, s *skb.SKB, proto uint8) {
	e := k.Call(fnIPProtocolDeliver, s)
	k.Call(fnRawLocalDeliver, s).Note = "no raw sockets"
	k.RetS(fnRawLocalDeliver, "0")
	switch proto {
	case header.ProtoUDP:
		e.Note = "protocol 17: udp_rcv"
		n.udpRcv(k, s)
	case header.ProtoICMP:
		e.Note = "protocol 1: icmp_rcv"
		n.icmpRcv(k, s)
	case header.ProtoTCP:
		e.Note = "protocol 6: tcp_v4_rcv"
		n.tcpV4Rcv(k, s)
	default:
		e.Note = fmt.Sprintf("no handler for protocol %d: INUNKNOWNPROTOS, ICMP protocol unreachable", proto)
		n.icmpSend(k, s, icmpDestUnreach, icmpProtUnreach)
		core.KfreeSkbReason(k, s, dropIPNoproto)
	}
	k.RetVoid(fnIPProtocolDeliver)
}
