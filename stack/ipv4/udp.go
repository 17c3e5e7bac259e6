package ipv4

import (
	"fmt"

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
// the arguments, route, build the skb (ip_make_skb), add the UDP header
// and send it (udp_send_skb). It returns the length sent or an errno.
func (n *Net) udpSendmsg(k *kernel.Kernel, sk *socket.Sock, msg *socket.Msghdr) int {
	k.Call(fnUDPSendmsg)
	ulen := len(msg.Iter)
	switch {
	case ulen > 0xffff:
		return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(-kernel.EMSGSIZE)))
	case msg.Name == nil:
		return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(-kernel.EDESTADDRREQ)))
	case !msg.Name.Addr().Is4():
		return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(-kernel.EAFNOSUPPORT)))
	case msg.Name.Port() == 0:
		return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(-kernel.EINVAL)))
	}
	fl := &Flowi4{Saddr: sk.Saddr, Daddr: msg.Name.Addr(), Sport: sk.Num, Dport: msg.Name.Port(), Proto: header.ProtoUDP, TOS: sk.TOS}
	rt, err := n.ipRouteOutputFlow(k, fl)
	if err < 0 {
		return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(err)))
	}
	s, err := n.ipMakeSkb(k, sk, fl, rt, msg.Iter, header.UDPLen, msg.Flags&socket.MsgDontwait != 0)
	if err < 0 {
		return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(err)))
	}
	if err := n.udpSendSkb(k, sk, s, fl); err < 0 {
		return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(err)))
	}
	return int(kernel.Ret(k, fnUDPSendmsg, kernel.Err(ulen)))
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
	seg := s.At(s.TransportHeader, length)
	uh.SetChecksum(header.TransportChecksum(fl.Saddr, fl.Daddr, header.ProtoUDP, seg))
	k.Spend(int64(length) / 8)
	e.Note = fmt.Sprintf("UDP %d → %d, len %d, checksum 0x%04x over the pseudo header and %d bytes (CHECKSUM_NONE: no offload)",
		sk.Num, fl.Dport, length, uh.Checksum(), length)
	err := n.ipSendSkb(k, s)
	if err == -kernel.ENOBUFS {
		k.Note(trace.State, "-ENOBUFS from the device layer is not reported without IP_RECVERR")
		err = 0
	}
	return int(kernel.Ret(k, fnUDPSendSkb, kernel.Err(err)))
}
