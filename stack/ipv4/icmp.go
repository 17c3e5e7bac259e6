package ipv4

import (
	"fmt"
	"net/netip"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
)

const icmpC = "net/ipv4/icmp.c"

var (
	fnIcmpSend         = kernel.NewFn("__icmp_send", icmpC, "icmp")
	fnIcmpGlobalAllow  = kernel.NewFn("icmpv4_global_allow", icmpC, "icmp")
	fnIcmpXrlimAllow   = kernel.NewFn("icmpv4_xrlim_allow", icmpC, "icmp")
	fnIcmpRouteLookup  = kernel.NewFn("icmp_route_lookup", icmpC, "icmp")
	fnIcmpPushReply    = kernel.NewFn("icmp_push_reply", icmpC, "icmp")
	fnIcmpGlueBits     = kernel.NewFn("icmp_glue_bits", icmpC, "icmp")
	fnIcmpRcv          = kernel.NewFn("icmp_rcv", icmpC, "icmp")
	fnIcmpEcho         = kernel.NewFn("icmp_echo", icmpC, "icmp")
	fnIcmpReply        = kernel.NewFn("icmp_reply", icmpC, "icmp")
	fnIcmpUnreach      = kernel.NewFn("icmp_unreach", icmpC, "icmp")
	fnIcmpSocketDelive = kernel.NewFn("icmp_socket_deliver", icmpC, "icmp")
	fnUDPErr           = kernel.NewFn("__udp4_lib_err", udpC, "udp")
	fnUDPErrTop        = kernel.NewFn("udp_err", udpC, "udp")
	dropICMPCsum       = skb.Reason("SKB_DROP_REASON_ICMP_CSUM")
)

// ICMP types and codes used by callers.
const (
	icmpDestUnreach = header.ICMPDestUnreach
	icmpHostUnreach = header.ICMPHostUnreach
	icmpPortUnreach = header.ICMPPortUnreach
	icmpProtUnreach = header.ICMPProtUnreach
)

// ICMP sysctls and limits (net/ipv4/icmp.c, include/net/inetpeer.h).
const (
	icmpMsgsPerSec    = 1000
	icmpMsgsBurst     = 50
	icmpRatelimitNs   = 1_000_000_000 // net.ipv4.icmp_ratelimit, 1 s
	xrlimBurstFactor  = 6
	icmpRatemask      = 0x1818 // dest unreachable, source quench, time exceeded, parameter problem
	iptosPrecInternet = 0xc0   // IPTOS_PREC_INTERNETCONTROL
)

// icmpState is the per-namespace ICMP state: the kernel's own ICMP
// socket and the two rate limiters.
type icmpState struct {
	sk     *socket.Sock
	credit int   // icmp_global_credit
	stamp  int64 // icmp_global_stamp
	peers  map[netip.Addr]*inetPeer
}

// inetPeer is the part of struct inet_peer the per-peer limit uses.
type inetPeer struct {
	tokens int64
	last   int64
}

func (n *Net) icmpSock() *socket.Sock {
	if n.icmp.sk == nil {
		n.icmp = icmpState{
			sk:     &socket.Sock{Name: "icmp_sk", Family: socket.AFInet, Protocol: header.ProtoICMP, TTL: -1, SndBuf: 1 << 30},
			credit: icmpMsgsBurst,
			peers:  map[netip.Addr]*inetPeer{},
		}
	}
	return n.icmp.sk
}

// isError is icmp_pointers[type].error.
func isError(t uint8) bool {
	switch t {
	case header.ICMPDestUnreach, header.ICMPSourceQuench, header.ICMPTimeExceeded, header.ICMPParamProblem, 5:
		return true
	}
	return false
}

// icmpSend is icmp_send() → __icmp_send(): tell the sender of skbIn that
// something went wrong. Never about an ICMP error, a fragment after the
// first, or a broadcast; rate-limited globally and per peer.
func (n *Net) icmpSend(k *kernel.Kernel, skbIn *skb.SKB, typ, code uint8) {
	n.icmpSendInfo(k, skbIn, typ, code, 0)
}

// icmpSendInfo is icmp_send() with its info word, the rest of the ICMP
// header: for "fragmentation needed", the next hop's MTU (RFC 1191).
func (n *Net) icmpSendInfo(k *kernel.Kernel, skbIn *skb.SKB, typ, code uint8, info uint32) {
	e := k.Call(fnIcmpSend, skbIn)
	iph := header.IPv4(skbIn.At(skbIn.NetworkHeader, header.IPv4MinLen))
	switch {
	case iph == nil:
		e.Note = "no IP header"
	case skbIn.PktType != skb.PacketHost:
		e.Note = "not sent to us alone (" + skbIn.PktType.String() + "): no ICMP error"
	case iph.FragOff()&0x1fff != 0:
		e.Note = "not the first fragment: no ICMP error"
	case isError(typ) && iph.Protocol() == header.ProtoICMP && n.innerIsError(skbIn, iph):
		e.Note = "never an ICMP error about an ICMP error"
	default:
		n.icmpSendAllowed(k, skbIn, iph, typ, code, info)
	}
	k.RetVoid(fnIcmpSend)
}

func (n *Net) innerIsError(s *skb.SKB, iph header.IPv4) bool {
	inner := s.At(s.NetworkHeader+iph.IHL(), 1)
	return inner == nil || isError(inner[0])
}

func (n *Net) icmpSendAllowed(k *kernel.Kernel, skbIn *skb.SKB, iph header.IPv4, typ, code uint8, info uint32) {
	k.LocalBhDisable()
	defer k.LocalBhEnable()
	loopback := n.Core.Device(skbIn.Dev) != nil && n.Core.Device(skbIn.Dev).Loopback
	if !loopback && !n.icmpv4GlobalAllow(k, typ) {
		return
	}
	sk := n.icmpSock()
	// The error comes from the address the packet was sent to if that is
	// ours, else from the route's preferred source.
	saddr := iph.Dst()
	if !n.isLocal(saddr) {
		saddr = netip.Addr{}
	}
	sk.TOS = iph.TOS()
	if isError(typ) {
		sk.TOS = iph.TOS()&0x1e | iptosPrecInternet
	}
	k.Call(fnIcmpRouteLookup)
	fl := &Flowi4{Saddr: saddr, Daddr: iph.Src(), Proto: header.ProtoICMP, TOS: sk.TOS}
	rt, err := n.ipRouteOutputFlow(k, fl)
	if err < 0 {
		k.RetS(fnIcmpRouteLookup, kernel.Err(err).String())
		return
	}
	k.RetS(fnIcmpRouteLookup, "rt dev "+rt.Dev.Name)
	if !n.icmpv4XrlimAllow(k, rt, fl, typ, code) {
		return
	}
	room := min(rt.MTU, 576) - header.IPv4MinLen - header.ICMPLen
	quoted := skbIn.At(skbIn.NetworkHeader, skbIn.TailOff()-skbIn.NetworkHeader)
	if len(quoted) > room {
		quoted = quoted[:room]
	}
	msg := make([]byte, header.ICMPLen+len(quoted))
	header.ICMP(msg).Encode(typ, code, info)
	copy(msg[header.ICMPLen:], quoted)
	n.icmpPushReply(k, sk, msg, fl, rt)
}

// icmpv4GlobalAllow is icmpv4_global_allow(): types outside the ratemask
// always pass; the rest draw on a host-wide bucket of icmp_msgs_burst
// credits refilled at icmp_msgs_per_sec.
func (n *Net) icmpv4GlobalAllow(k *kernel.Kernel, typ uint8) bool {
	e := k.Call(fnIcmpGlobalAllow)
	n.icmpSock()
	st := &n.icmp
	if icmpRatemask&(1<<typ) == 0 {
		e.Note = "type not in icmp_ratemask"
		return kernel.Ret(k, fnIcmpGlobalAllow, true)
	}
	if st.credit <= 0 {
		delta := min(k.Now()-st.stamp, int64(kernel.Jiffy*250))
		if delta < kernel.Jiffy*250/50 {
			e.Note = "icmp_msgs_burst used up"
			return kernel.Ret(k, fnIcmpGlobalAllow, false)
		}
		st.stamp = k.Now()
		st.credit = min(st.credit+int(int64(icmpMsgsPerSec)*delta/1_000_000_000), icmpMsgsBurst)
	}
	// icmp_global_consume: 0 to 2 credits, at random.
	st.credit -= k.Sim.Rand().IntN(3)
	e.Note = fmt.Sprintf("%d credits left", st.credit)
	return kernel.Ret(k, fnIcmpGlobalAllow, true)
}

// icmpv4XrlimAllow is icmpv4_xrlim_allow(): errors to one peer are
// limited to one per icmp_ratelimit after a burst of six; never for
// packets to ourselves.
func (n *Net) icmpv4XrlimAllow(k *kernel.Kernel, rt *Rtable, fl *Flowi4, typ, code uint8) bool {
	e := k.Call(fnIcmpXrlimAllow)
	switch {
	case icmpRatemask&(1<<typ) == 0:
		e.Note = "type not rate limited"
		return kernel.Ret(k, fnIcmpXrlimAllow, true)
	case typ == header.ICMPDestUnreach && code == header.ICMPFragNeeded:
		e.Note = "fragmentation needed is never limited"
		return kernel.Ret(k, fnIcmpXrlimAllow, true)
	case rt.Dev.Loopback:
		e.Note = "to ourselves: not limited"
		return kernel.Ret(k, fnIcmpXrlimAllow, true)
	}
	p := n.icmp.peers[fl.Daddr]
	if p == nil {
		p = &inetPeer{last: k.Now() - 60_000_000_000}
		n.icmp.peers[fl.Daddr] = p
	}
	p.tokens += k.Now() - p.last
	p.last = k.Now()
	p.tokens = min(p.tokens, xrlimBurstFactor*icmpRatelimitNs)
	ok := p.tokens >= icmpRatelimitNs
	if ok {
		p.tokens -= icmpRatelimitNs
	}
	e.Note = fmt.Sprintf("inet_peer %s: %.1f s of tokens left", fl.Daddr, float64(p.tokens)/1e9)
	return kernel.Ret(k, fnIcmpXrlimAllow, ok)
}

// icmpPushReply is icmp_push_reply(): the message goes on the ICMP
// socket's write queue (ip_append_data with icmp_glue_bits), gets its
// checksum, and leaves with ip_push_pending_frames.
func (n *Net) icmpPushReply(k *kernel.Kernel, sk *socket.Sock, msg []byte, fl *Flowi4, rt *Rtable) {
	e := k.Call(fnIcmpPushReply)
	// MSG_DONTWAIT: the kernel's own socket never sleeps, so this
	// completes before ipAppendDataQueued returns.
	n.ipAppendDataQueued(k, nil, sk, rt, fnIcmpGlueBits, msg, true, func(err int) {
		if err < 0 {
			return
		}
		ic := icmpQueueChecksum(sk)
		e.Note = fmt.Sprintf("ICMP type %d code %d, %d bytes, checksum 0x%04x", ic.Type(), ic.Code(), len(msg), ic.Checksum())
		n.ipPushPendingFrames(k, sk, fl, rt)
	})
	k.RetVoid(fnIcmpPushReply)
}

// icmpRcv is icmp_rcv(): verify the checksum, then the type's handler.
func (n *Net) icmpRcv(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnIcmpRcv, s)
	ic := header.ICMP(s.CopyBits(0, s.Len())) // a reassembled message is on a frag_list too
	if len(ic) < header.ICMPLen {
		e.Note = "shorter than an ICMP header"
		core.KfreeSkbReason(k, s, dropPktTooSmall)
		k.RetS(fnIcmpRcv, "0")
		return
	}
	if !s.CsumUnnecessary() && !ic.ChecksumValid() {
		e.Note = "bad ICMP checksum"
		core.KfreeSkbReason(k, s, dropICMPCsum)
		k.RetS(fnIcmpRcv, "0")
		return
	}
	var reason skb.Reason
	switch ic.Type() {
	case header.ICMPEcho:
		e.Note = "echo request"
		n.icmpEcho(k, s)
	case header.ICMPEchoReply:
		e.Note = "echo reply: ping_rcv"
		reason = n.pingRcv(k, s)
	case header.ICMPDestUnreach:
		e.Note = fmt.Sprintf("destination unreachable, code %d", ic.Code())
		n.icmpUnreach(k, s)
	default:
		e.Note = fmt.Sprintf("type %d: nothing to do", ic.Type())
	}
	if reason != "" {
		core.KfreeSkbReason(k, s, reason)
	} else {
		core.ConsumeSkb(k, s)
	}
	k.RetS(fnIcmpRcv, "0")
}

// icmpEcho is icmp_echo(): answer with the same identifier, sequence and
// data (icmp_echo_ignore_all is 0).
func (n *Net) icmpEcho(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnIcmpEcho, s)
	req := s.CopyBits(0, s.Len())
	msg := append([]byte(nil), req...)
	header.ICMP(msg).Encode(header.ICMPEchoReply, 0, uint32(header.ICMP(req).ID())<<16|uint32(header.ICMP(req).Seq()))
	n.icmpReply(k, s, msg)
	k.RetS(fnIcmpEcho, "SKB_NOT_DROPPED_YET")
}

// icmpReply is icmp_reply(): send msg back to the packet's source, from
// the address it was sent to, softirq context and all.
func (n *Net) icmpReply(k *kernel.Kernel, s *skb.SKB, msg []byte) {
	e := k.Call(fnIcmpReply, s)
	k.LocalBhDisable()
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	if n.icmpv4GlobalAllow(k, msg[0]) {
		sk := n.icmpSock()
		sk.TOS = iph.TOS()
		fl := &Flowi4{Saddr: iph.Dst(), Daddr: iph.Src(), Proto: header.ProtoICMP, TOS: sk.TOS}
		if rt, err := n.ipRouteOutputFlow(k, fl); err == 0 {
			if n.icmpv4XrlimAllow(k, rt, fl, msg[0], msg[1]) {
				e.Note = fmt.Sprintf("reply %s → %s", fl.Saddr, fl.Daddr)
				n.icmpPushReply(k, sk, msg, fl, rt)
			}
		}
	}
	k.LocalBhEnable()
	k.RetVoid(fnIcmpReply)
}

// icmpUnreach is icmp_unreach() → icmp_socket_deliver(): give the error
// to the protocol of the packet it quotes (udp_err for UDP).
func (n *Net) icmpUnreach(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnIcmpUnreach, s)
	ic := header.ICMP(s.Data())
	inner := header.IPv4(ic[header.ICMPLen:])
	if len(inner) >= header.IPv4MinLen && len(inner) >= inner.IHL()+header.UDPLen && inner.Protocol() == header.ProtoUDP {
		k.Call(fnIcmpSocketDelive, s)
		k.Call(fnUDPErrTop, s)
		e := k.Call(fnUDPErr, s)
		uh := header.UDP(inner[inner.IHL():])
		sk := n.udpLookupPort(uh.SrcPort())
		errno := icmpErrConvert(ic.Code())
		switch {
		case sk == nil:
			e.Note = fmt.Sprintf("no socket on port %d any more", uh.SrcPort())
		case !sk.Daddr.IsValid():
			e.Note = fmt.Sprintf("%s is not connected and has no IP_RECVERR: %s is not reported", sk.Name, kernel.Err(errno))
		default:
			sk.Err = errno
			e.Note = fmt.Sprintf("%s: sk_err = %s (icmp_err_convert), sk_error_report", sk.Name, kernel.Err(errno))
			k.WakeUp(&sk.Wq)
		}
		k.RetS(fnUDPErr, "0")
		k.RetS(fnUDPErrTop, "0")
		k.RetVoid(fnIcmpSocketDelive)
	}
	k.RetS(fnIcmpUnreach, "SKB_NOT_DROPPED_YET")
}

// icmpErrConvert is icmp_err_convert[]: the errno a destination
// unreachable code means to a socket.
func icmpErrConvert(code uint8) int {
	switch code {
	case header.ICMPNetUnreach:
		return -kernel.ENETUNREACH
	case header.ICMPProtUnreach:
		return -kernel.ENOPROTOOPT
	case header.ICMPPortUnreach:
		return -kernel.ECONNREFUSED
	case header.ICMPFragNeeded:
		return -kernel.EMSGSIZE
	}
	return -kernel.EHOSTUNREACH
}

// icmpQueueChecksum is the checksum ping_v4_push_pending_frames and
// icmp_push_reply finish: over the ICMP message in every skb on the
// write queue (each getfrag summed its own piece), stored in the first.
func icmpQueueChecksum(sk *socket.Sock) header.ICMP {
	var msg []byte
	for _, s := range sk.WriteQueue {
		msg = append(msg, s.At(s.TransportHeader, s.TailOff()-s.TransportHeader)...)
	}
	ic := header.ICMP(msg)
	ic.SetChecksum()
	first := sk.WriteQueue[0]
	copy(first.At(first.TransportHeader+2, 2), msg[2:4])
	return ic
}
