package ipv4

import (
	"fmt"
	"net/netip"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
	"skbscope/stack/trace"
)

const udpC = "net/ipv4/udp.c"

var (
	fnUDPV4GetPort  = kernel.NewFn("udp_v4_get_port", udpC, "udp")
	fnUDPLibGetPort = kernel.NewFn("udp_lib_get_port", udpC, "udp")
	fnUDPSendmsg    = kernel.NewFn("udp_sendmsg", udpC, "udp")
	fnUDPSendSkb    = kernel.NewFn("udp_send_skb", udpC, "udp")
)

// udpV4GetPort is udp_v4_get_port() → udp_lib_get_port(): bind sk to
// snum, or to a free ephemeral port when snum is 0. Non-zero is failure.
func (n *Net) udpV4GetPort(k *kernel.Kernel, sk *socket.Sock, snum uint16) int {
	k.Call(fnUDPV4GetPort)
	e := k.Call(fnUDPLibGetPort)
	if snum == 0 {
		// The kernel starts at a random point of ip_local_port_range and
		// walks it; the simulation's seeded RNG picks the start.
		low, high := n.LocalPortLow, n.LocalPortHigh
		span := high - low + 1
		start := low + n.K.Sim.Rand().IntN(span)
		for i := range span {
			p := uint16(low + (start-low+i)%span)
			if n.udpLookupPort(p) == nil {
				snum = p
				break
			}
		}
		if snum == 0 {
			e.Note = "every port in ip_local_port_range is in use"
			kernel.Ret(k, fnUDPLibGetPort, 1)
			return kernel.Ret(k, fnUDPV4GetPort, 1)
		}
		e.Note = fmt.Sprintf("ephemeral port %d from ip_local_port_range %d-%d", snum, low, high)
	} else if n.udpLookupPort(snum) != nil {
		e.Note = fmt.Sprintf("port %d is in use", snum)
		kernel.Ret(k, fnUDPLibGetPort, 1)
		return kernel.Ret(k, fnUDPV4GetPort, 1)
	}
	sk.Num = snum
	n.udp = append(n.udp, sk)
	kernel.Ret(k, fnUDPLibGetPort, 0)
	return kernel.Ret(k, fnUDPV4GetPort, 0)
}

func (n *Net) udpLookupPort(p uint16) *socket.Sock {
	for _, s := range n.udp {
		if s.Num == p {
			return s
		}
	}
	return nil
}

// udpSendmsg is udp_sendmsg() for an unconnected, uncorked socket: check
// the arguments, route, build the skb (ip_make_skb, which may sleep for
// send buffer space), add the UDP header and send it (udp_send_skb). done
// gets the length sent or an errno.
func (n *Net) udpSendmsg(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, msg *socket.Msghdr, done func(int)) {
	k.Call(fnUDPSendmsg)
	finish := func(r int) { done(int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(r)))) }
	ulen := len(msg.Iter)
	to := msg.Name
	if to == nil && sk.Daddr.IsValid() {
		connected := netip.AddrPortFrom(sk.Daddr, sk.Dport) // a connected socket's peer
		to = &connected
	}
	switch {
	case ulen > 0xffff:
		finish(-kernel.EMSGSIZE)
		return
	case to == nil:
		finish(-kernel.EDESTADDRREQ)
		return
	case !to.Addr().Is4():
		finish(-kernel.EAFNOSUPPORT)
		return
	case to.Port() == 0:
		finish(-kernel.EINVAL)
		return
	}
	fl := &Flowi4{Saddr: sk.Saddr, Daddr: to.Addr(), Sport: sk.Num, Dport: to.Port(), Proto: header.ProtoUDP, TOS: sk.TOS}
	rt, err := n.ipRouteOutputFlow(k, fl)
	if err < 0 {
		finish(err)
		return
	}
	n.ipMakeSkb(k, t, sk, fl, rt, msg.Iter, header.UDPLen, msg.Flags&socket.MsgDontwait != 0, func(s *skb.SKB, err int) {
		if err < 0 {
			finish(err)
			return
		}
		if err := n.udpSendSkb(k, sk, s, fl); err < 0 {
			finish(err)
			return
		}
		finish(ulen)
	})
}

// udpSendSkb is udp_send_skb(): fill in the UDP header, checksum it in
// software (the device does not offload it), and pass the skb to IP. An
// -ENOBUFS from below becomes 0: a datagram lost in a full qdisc is not
// the sender's error unless it asked with IP_RECVERR.
func (n *Net) udpSendSkb(k *kernel.Kernel, sk *socket.Sock, s *skb.SKB, fl *Flowi4) int {
	e := k.Call(fnUDPSendSkb, s)
	length := s.Len() - (s.TransportHeader - s.DataOff())
	uh := header.UDP(s.At(s.TransportHeader, header.UDPLen))
	uh.Encode(sk.Num, fl.Dport, length)
	if s.IPSummed == skb.ChecksumPartial {
		// udp4_hwcsum: store the pseudo-header sum; the NIC adds the rest.
		s.CsumStart, s.CsumOff = s.TransportHeader, 6
		uh.SetChecksum(header.Fold(header.PseudoSum(fl.Saddr, fl.Daddr, header.ProtoUDP, length)))
		e.Note = fmt.Sprintf("UDP %d → %d, len %d; udp4_hwcsum: pseudo-header sum 0x%04x, CHECKSUM_PARTIAL for the NIC",
			sk.Num, fl.Dport, length, uh.Checksum())
	} else {
		// udp_csum walks the frag_list too: the checksum in the first
		// fragment covers the whole datagram.
		seg := s.CopyBits(s.TransportHeader-s.DataOff(), length)
		uh.SetChecksum(header.TransportChecksum(fl.Saddr, fl.Daddr, header.ProtoUDP, seg))
		k.Spend(int64(length) / 8)
		e.Note = fmt.Sprintf("UDP %d → %d, len %d, udp_csum: checksum 0x%04x over the pseudo header and %d bytes",
			sk.Num, fl.Dport, length, uh.Checksum(), length)
		if len(s.FragList) > 0 {
			e.Note += fmt.Sprintf(", the head's and its %d frag_list skbs'", len(s.FragList))
		}
	}
	err := n.ipSendSkb(k, s)
	if err == -kernel.ENOBUFS {
		k.Note(trace.State, "-ENOBUFS from the device layer is not reported without IP_RECVERR")
		err = 0
	}
	return int(kernel.Ret(k, fnUDPSendSkb, kernel.Err(err)))
}

var (
	fnUDPRcv             = kernel.NewFn("udp_rcv", udpC, "udp")
	fnUDP4LibRcv         = kernel.NewFn("__udp4_lib_rcv", udpC, "udp")
	fnUDP4LibLookup      = kernel.NewFn("__udp4_lib_lookup", udpC, "udp")
	fnUDPUnicastRcvSkb   = kernel.NewFn("udp_unicast_rcv_skb", udpC, "udp")
	fnUDPQueueRcvSkb     = kernel.NewFn("udp_queue_rcv_skb", udpC, "udp")
	fnUDPQueueRcvOneSkb  = kernel.NewFn("udp_queue_rcv_one_skb", udpC, "udp")
	fnSkbCopyAndCsum     = kernel.NewFn("skb_copy_and_csum_datagram_msg", "net/core/datagram.c", "udp")
	fnUDPEnqueueSchedule = kernel.NewFn("__udp_enqueue_schedule_skb", udpC, "udp")
	fnSockDefReadable    = kernel.NewFn("sock_def_readable", "net/core/sock.c", "socket")
	fnUDPRecvmsg         = kernel.NewFn("udp_recvmsg", udpC, "udp")
	fnSkbRecvUDP         = kernel.NewFn("__skb_recv_udp", udpC, "udp")
	fnSkbWaitForMore     = kernel.NewFn("__skb_wait_for_more_packets", "net/core/datagram.c", "socket")
	fnCopyLinearSkb      = kernel.NewFn("copy_linear_skb", "include/net/udp.h", "udp")
	fnSkbConsumeUDP      = kernel.NewFn("skb_consume_udp", udpC, "udp")
	dropUDPCsum          = skb.Reason("SKB_DROP_REASON_UDP_CSUM")
	dropNoSocket         = skb.Reason("SKB_DROP_REASON_NO_SOCKET")
	dropSocketRcvbuff    = skb.Reason("SKB_DROP_REASON_SOCKET_RCVBUFF")
	receiveQueue         = "sk_receive_queue"
)

// udpRcv is udp_rcv() → __udp4_lib_rcv(): check the header's length and
// checksum, find the socket bound to the port, and queue the datagram
// there; with no socket, the datagram is dropped.
func (n *Net) udpRcv(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnUDPRcv, s)
	e := k.Call(fnUDP4LibRcv, s)
	drop := func(r skb.Reason, why string) {
		e.Note = why
		core.KfreeSkbReason(k, s, r)
		k.RetS(fnUDP4LibRcv, "0")
		k.RetS(fnUDPRcv, "0")
	}
	uh := header.UDP(s.At(s.DataOff(), header.UDPLen))
	if uh == nil || s.Len() < header.UDPLen {
		drop(dropPktTooSmall, "shorter than a UDP header")
		return
	}
	ulen := uh.Length()
	if ulen > s.Len() || ulen < header.UDPLen {
		drop(dropPktTooSmall, fmt.Sprintf("UDP length %d, %d bytes present", ulen, s.Len()))
		return
	}
	s.Trim(ulen)
	ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	switch {
	case s.IPSummed == skb.ChecksumUnnecessary:
		e.Note = "udp4_csum_init: the NIC verified the checksum"
	case s.IPSummed == skb.ChecksumPartial:
		e.Note = "udp4_csum_init: CHECKSUM_PARTIAL, looped back before any NIC: nothing to verify"
	case uh.Checksum() == 0:
		e.Note = "udp4_csum_init: checksum 0, the sender did not compute one"
		s.IPSummed = skb.ChecksumUnnecessary
	default:
		e.Note = "udp4_csum_init: checksum to verify in software"
	}
	sk := n.udp4LibLookup(k, s, ip, uh)
	if sk == nil {
		if !s.CsumUnnecessary() && !udpChecksumOK(s) {
			drop(dropUDPCsum, "no socket, and the checksum is bad: no ICMP error either")
			return
		}
		e.Note = fmt.Sprintf("no socket on port %d: UDP_MIB_NOPORTS, ICMP port unreachable", uh.DstPort())
		n.icmpSend(k, s, icmpDestUnreach, icmpPortUnreach)
		core.KfreeSkbReason(k, s, dropNoSocket)
		k.RetS(fnUDP4LibRcv, "0")
		k.RetS(fnUDPRcv, "0")
		return
	}
	k.Call(fnUDPUnicastRcvSkb, s)
	n.udpQueueRcvSkb(k, sk, s)
	k.RetS(fnUDPUnicastRcvSkb, "0")
	k.RetS(fnUDP4LibRcv, "0")
	k.RetS(fnUDPRcv, "0")
}

// udp4LibLookup is __udp4_lib_lookup(): the socket bound to the
// destination port, on the destination address or on INADDR_ANY.
func (n *Net) udp4LibLookup(k *kernel.Kernel, s *skb.SKB, ip header.IPv4, uh header.UDP) *socket.Sock {
	e := k.Call(fnUDP4LibLookup, s)
	for _, sk := range n.udp {
		if sk.Num == uh.DstPort() && (!sk.Saddr.IsValid() || sk.Saddr == ip.Dst()) {
			e.Note = fmt.Sprintf("%s bound to port %d", sk.Name, sk.Num)
			k.RetS(fnUDP4LibLookup, sk.Name)
			return sk
		}
	}
	e.Note = fmt.Sprintf("nothing bound to %s:%d", ip.Dst(), uh.DstPort())
	k.RetS(fnUDP4LibLookup, "NULL")
	return nil
}

// udpQueueRcvSkb is udp_queue_rcv_skb() → udp_queue_rcv_one_skb() →
// __udp_enqueue_schedule_skb. A checksum nobody verified yet waits: it is
// checked while udp_recvmsg copies the data.
func (n *Net) udpQueueRcvSkb(k *kernel.Kernel, sk *socket.Sock, s *skb.SKB) {
	k.Call(fnUDPQueueRcvSkb, s)
	k.Call(fnUDPQueueRcvOneSkb, s)
	r := n.udpEnqueueScheduleSkb(k, sk, s)
	if r < 0 {
		sk.Drops++
		core.KfreeSkbReason(k, s, dropSocketRcvbuff)
	}
	k.RetS(fnUDPQueueRcvOneSkb, "0")
	k.RetS(fnUDPQueueRcvSkb, "0")
}

// udpEnqueueScheduleSkb is __udp_enqueue_schedule_skb(): charge the skb
// to the receive buffer, or refuse it with -ENOMEM when rcvbuf is full;
// queue it and wake the readers (sk_data_ready).
func (n *Net) udpEnqueueScheduleSkb(k *kernel.Kernel, sk *socket.Sock, s *skb.SKB) int {
	e := k.Call(fnUDPEnqueueSchedule, s)
	if sk.RmemAlloc+s.Truesize > sk.RcvBuf {
		e.Note = fmt.Sprintf("sk_rmem_alloc %d + %d > sk_rcvbuf %d", sk.RmemAlloc, s.Truesize, sk.RcvBuf)
		return int(kernel.Ret(k, fnUDPEnqueueSchedule, kernel.Err(-kernel.ENOMEM)))
	}
	s.Dev = ""
	n.queueRcv(k, sk, s)
	return int(kernel.Ret(k, fnUDPEnqueueSchedule, kernel.Err(0)))
}

// udpRecvmsg is udp_recvmsg(): take a datagram (sleeping for one if
// needed), copy it to the user and free it.
func (n *Net) udpRecvmsg(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, msg *socket.Msghdr, done func(int)) {
	k.Call(fnUDPRecvmsg)
	var try func()
	try = func() {
		n.recvDatagram(k, t, sk, msg.Flags, fnSkbRecvUDP, func(s *skb.SKB, err int) {
			if s == nil {
				kernel.Ret(k, fnUDPRecvmsg, kernel.Err(err))
				done(err)
				return
			}
			ulen := s.Len() - header.UDPLen
			copied := min(len(msg.Iter), ulen)
			if copied < ulen {
				msg.Flags |= socket.MsgTrunc
			}
			if s.CsumUnnecessary() {
				k.Call(fnCopyLinearSkb, s).Note = fmt.Sprintf("copy_to_iter: %d bytes to the user (a linear skb, checksum already trusted)", copied)
				k.Spend(int64(copied) / 16)
				k.RetS(fnCopyLinearSkb, "0")
			} else {
				e := k.Call(fnSkbCopyAndCsum, s)
				k.Spend(int64(s.Len()) / 8)
				if !udpChecksumOK(s) {
					// csum_copy_err: count it, drop it, read the next one.
					e.Note = "the checksum computed while copying is wrong: UDP_MIB_CSUMERRORS, try the next datagram"
					k.RetS(fnSkbCopyAndCsum, kernel.Err(-kernel.EINVAL).String())
					sk.Drops++
					core.KfreeSkbReason(k, s, dropUDPCsum)
					try()
					return
				}
				e.Note = fmt.Sprintf("%d bytes copied, the checksum verified on the way", copied)
				k.RetS(fnSkbCopyAndCsum, "0")
			}
			copy(msg.Iter, s.CopyBits(header.UDPLen, copied))
			ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
			uh := header.UDP(s.At(s.TransportHeader, header.UDPLen))
			*msg.Name = netip.AddrPortFrom(ip.Src(), uh.SrcPort())
			n.skbConsumeUDP(k, sk, s)
			kernel.Ret(k, fnUDPRecvmsg, kernel.Err(copied))
			done(copied)
		})
	}
	try()
}

// skbConsumeUDP is skb_consume_udp(): give the receive buffer back
// (udp_rmem_release) and free the skb.
func (n *Net) skbConsumeUDP(k *kernel.Kernel, sk *socket.Sock, s *skb.SKB) {
	k.Call(fnSkbConsumeUDP, s).Note = fmt.Sprintf("udp_rmem_release: sk_rmem_alloc %d → %d", sk.RmemAlloc, sk.RmemAlloc-s.Truesize)
	sk.RmemAlloc -= s.Truesize
	core.ConsumeSkb(k, s)
	k.RetVoid(fnSkbConsumeUDP)
}

// udpChecksumOK verifies the UDP checksum of s (data at the UDP header)
// over the pseudo header, as __udp_lib_checksum_complete does.
func udpChecksumOK(s *skb.SKB) bool {
	ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	seg := s.CopyBits(0, s.Len())
	return header.Fold(header.Sum(header.PseudoSum(ip.Src(), ip.Dst(), header.ProtoUDP, len(seg)), seg)) == 0xffff
}
