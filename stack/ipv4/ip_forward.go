package ipv4

import (
	"encoding/binary"
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/netfilter"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const ipForwardC = "net/ipv4/ip_forward.c"

var (
	fnIPForward       = kernel.NewFn("ip_forward", ipForwardC, "ip")
	fnIPForwardFinish = kernel.NewFn("ip_forward_finish", ipForwardC, "ip")
	fnSkbCow          = kernel.NewFn("skb_cow", "include/linux/skbuff.h", "skb")
)

// Drop reasons of the forwarding path.
const (
	dropPktTooBig skb.Reason = "SKB_DROP_REASON_PKT_TOO_BIG"
	dropOtherHost skb.Reason = "SKB_DROP_REASON_NOT_SPECIFIED" // ip_forward's default SKB_DR(reason)
)

// IPCB(skb)->flags bits (include/net/ip.h).
const (
	ipskbForwarded    = 1 << 0 // IPSKB_FORWARDED
	ipskbFragComplete = 1 << 3 // IPSKB_FRAG_COMPLETE
	ipskbFragPMTU     = 1 << 6 // IPSKB_FRAG_PMTU
)

// ipForward is ip_forward(), the dst input of a route through this host
// (net.ipv4.ip_forward = 1): only packets sent to our MAC; a TTL of 1 is
// ICMP time exceeded; a DF packet bigger than the outgoing MTU is ICMP
// fragmentation needed (with that MTU) and SKB_DROP_REASON_PKT_TOO_BIG;
// otherwise the skb is made private with room for the outgoing link
// header (skb_cow), its TTL lowered (ip_decrease_ttl, the checksum
// patched), and it passes NF_INET_FORWARD into ip_forward_finish. A
// packet without DF that is too big goes on: ip_output fragments it.
func (n *Net) ipForward(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnIPForward, s)
	rt := s.Dst.(*Rtable)
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	drop := func(reason skb.Reason) {
		core.KfreeSkbReason(k, s, reason)
		k.RetS(fnIPForward, "NET_RX_DROP")
	}
	if s.PktType != skb.PacketHost {
		e.Note = "not addressed to our MAC (" + s.PktType.String() + "): not forwarded"
		drop(dropOtherHost)
		return
	}
	// skb_forward_csum: a checksum computed over the received bytes will
	// not match once the TTL changes.
	if s.IPSummed == skb.ChecksumComplete {
		s.IPSummed = skb.ChecksumNone
	}
	if iph.TTL() <= 1 {
		e.Note = fmt.Sprintf("ttl %d: IPSTATS_MIB_INHDRERRORS, ICMP time exceeded", iph.TTL())
		n.icmpSend(k, s, header.ICMPTimeExceeded, 0)
		drop(dropIPInhdr)
		return
	}
	s.InetSkbParm().SetFlags(s.InetSkbParm().Flags() | ipskbForwarded)
	mtu := rt.Dev.MTU // ip_dst_mtu_maybe_forward(dst, true): no PMTU for forwarding
	if s.Len() > mtu && iph.FragOff()&header.IPv4DF != 0 {
		e.Note = fmt.Sprintf("%d bytes > mtu %d of %s and DF set (ip_exceeds_mtu): IPSTATS_MIB_FRAGFAILS, ICMP fragmentation needed, mtu %d", s.Len(), mtu, rt.Dev.Name, mtu)
		n.icmpSendInfo(k, s, header.ICMPDestUnreach, header.ICMPFragNeeded, uint32(mtu))
		drop(dropPktTooBig)
		return
	}
	hh := rt.Dev.LLReservedSpace()
	k.Call(fnSkbCow, s).Note = fmt.Sprintf("headroom %d ≥ LL_RESERVED_SPACE(%s) %d and not cloned: the skb can be written as it is", s.Headroom(), rt.Dev.Name, hh)
	if s.Headroom() < hh || s.Cloned() {
		delta := (max(hh-s.Headroom(), 0) + skb.CacheLine - 1) / skb.CacheLine * skb.CacheLine
		s.ExpandHead(delta)
		k.Event(trace.State, nil, s).Note = fmt.Sprintf("pskb_expand_head(+%d): a private head with room in front", delta)
	}
	k.RetS(fnSkbCow, "0", s)
	iph = header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	ipDecreaseTTL(iph)
	e.Note = fmt.Sprintf("forward to %s via %s: ttl now %d", iph.Dst(), rt.Dev.Name, iph.TTL())
	if s.Len() > mtu {
		e.Note += fmt.Sprintf("; %d bytes > mtu %d without DF: ip_output will fragment it", s.Len(), mtu)
	}
	r := n.nfHook(k, netfilter.Forward, s)
	if r == 1 {
		r = n.ipForwardFinish(k, s)
	}
	k.RetS(fnIPForward, xmitRet(r).String())
}

// ipDecreaseTTL is ip_decrease_ttl(): one less TTL, and the header
// checksum patched for it (RFC 1624) rather than recomputed.
func ipDecreaseTTL(iph header.IPv4) {
	iph[8]--
	sum := uint32(binary.BigEndian.Uint16(iph[10:12])) + 0x0100
	binary.BigEndian.PutUint16(iph[10:12], uint16(sum+sum>>16))
}

// ipForwardFinish is ip_forward_finish(): IPSTATS_MIB_OUTFORWDATAGRAMS,
// then dst_output, which for this route is ip_output.
func (n *Net) ipForwardFinish(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnIPForwardFinish, s).Note = "IPSTATS_MIB_OUTFORWDATAGRAMS; dst_output"
	r := n.dstOutput(k, s)
	kernel.Ret(k, fnIPForwardFinish, xmitRet(r))
	return r
}
