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

const afInetC = "net/ipv4/af_inet.c"

var (
	fnInetCreate      = kernel.NewFn("inet_create", afInetC, "socket")
	fnInetSendmsg     = kernel.NewFn("inet_sendmsg", afInetC, "socket")
	fnInetSendPrepare = kernel.NewFn("inet_send_prepare", afInetC, "socket")
	fnInetAutobind    = kernel.NewFn("inet_autobind", afInetC, "socket")
)

// IPPROTO values accepted for SOCK_DGRAM.
const protoUDP = 17

type inetFamily struct{ n *Net }

// Create is inet_create(): find the protocol for the socket type, make
// the struct sock and initialise it.
func (f inetFamily) Create(k *kernel.Kernel, sock *socket.Socket, protocol int) int {
	k.Call(fnInetCreate)
	if sock.Type == socket.SockStream && (protocol == 0 || protocol == header.ProtoTCP) {
		f.n.createStream(sock)
		return int(kernel.Ret(k, fnInetCreate, kernel.Err(0)))
	}
	if sock.Type != socket.SockDgram || (protocol != 0 && protocol != protoUDP && protocol != header.ProtoICMP) {
		return int(kernel.Ret(k, fnInetCreate, kernel.Err(-kernel.EPROTONOSUPPORT)))
	}
	sock.Ops = dgramOps{f.n}
	if protocol == header.ProtoICMP {
		sock.Ops = pingOps{f.n}
	} else {
		protocol = protoUDP
	}
	sock.Sk = &socket.Sock{
		Family:   socket.AFInet,
		Type:     socket.SockDgram,
		Protocol: protocol,
		TTL:      -1,
		SndBuf:   f.n.DefaultSndBuf,
		RcvBuf:   f.n.DefaultRcvBuf,
	}
	return int(kernel.Ret(k, fnInetCreate, kernel.Err(0)))
}

// dgramOps is inet_dgram_ops.
type dgramOps struct{ n *Net }

// Sendmsg is inet_sendmsg(): bind a port if needed, then the protocol's
// sendmsg (udp_sendmsg).
func (o dgramOps) Sendmsg(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, msg *socket.Msghdr, done func(int)) {
	k.Call(fnInetSendmsg)
	sk := sock.Sk
	if r := o.n.inetSendPrepare(k, sk); r < 0 {
		done(int(kernel.Ret(k, fnInetSendmsg, kernel.Err(r))))
		return
	}
	o.n.udpSendmsg(k, t, sk, msg, func(r int) {
		done(int(kernel.Ret(k, fnInetSendmsg, kernel.Err(r))))
	})
}

// inetSendPrepare is inet_send_prepare(): an unbound socket gets an
// ephemeral port first.
func (n *Net) inetSendPrepare(k *kernel.Kernel, sk *socket.Sock) int {
	e := k.Call(fnInetSendPrepare)
	if sk.Num != 0 {
		e.Note = fmt.Sprintf("already bound to port %d", sk.Num)
		return int(kernel.Ret(k, fnInetSendPrepare, kernel.Err(0)))
	}
	e.Note = "inet_num is 0: bind an ephemeral port"
	if r := n.inetAutobind(k, sk); r < 0 {
		return int(kernel.Ret(k, fnInetSendPrepare, kernel.Err(r)))
	}
	return int(kernel.Ret(k, fnInetSendPrepare, kernel.Err(0)))
}

// inetAutobind is inet_autobind(): sk_prot->get_port(sk, 0).
func (n *Net) inetAutobind(k *kernel.Kernel, sk *socket.Sock) int {
	k.Call(fnInetAutobind)
	if n.udpV4GetPort(k, sk, 0) != 0 {
		return int(kernel.Ret(k, fnInetAutobind, kernel.Err(-kernel.EAGAIN)))
	}
	return int(kernel.Ret(k, fnInetAutobind, kernel.Err(0)))
}

var (
	fnInetBind    = kernel.NewFn("inet_bind", afInetC, "socket")
	fnInetBindIn  = kernel.NewFn("__inet_bind", afInetC, "socket")
	fnInetRecvmsg = kernel.NewFn("inet_recvmsg", afInetC, "socket")
)

// inetBind is inet_bind() → inet_bind_sk → __inet_bind(), shared by
// every inet socket: check the address is ours (or INADDR_ANY), then let
// the protocol take the port (sk_prot->get_port), which returns 0 or an
// errno and may note what it did on e.
func (n *Net) inetBind(k *kernel.Kernel, sk *socket.Sock, addr netip.AddrPort, getPort func(e *trace.Event) int) int {
	k.Call(fnInetBind)
	e := k.Call(fnInetBindIn)
	r := 0
	switch {
	case !addr.Addr().Is4():
		r = -kernel.EAFNOSUPPORT
	case sk.Num != 0:
		e.Note = "already bound"
		r = -kernel.EINVAL
	case !addr.Addr().IsUnspecified() && !n.isLocal(addr.Addr()):
		e.Note = addr.Addr().String() + " is not an address of this host"
		r = -kernel.EADDRNOTAVAIL
	default:
		if !addr.Addr().IsUnspecified() {
			sk.Saddr = addr.Addr()
		}
		if r = getPort(e); r != 0 {
			sk.Saddr = netip.Addr{}
		}
	}
	kernel.Ret(k, fnInetBindIn, kernel.Err(r))
	return int(kernel.Ret(k, fnInetBind, kernel.Err(r)))
}

// Bind is inet_bind() for UDP and ping sockets: udp_v4_get_port (or the
// ping socket's) takes the port.
func (o dgramOps) Bind(k *kernel.Kernel, sock *socket.Socket, addr netip.AddrPort) int {
	sk := sock.Sk
	return o.n.inetBind(k, sk, addr, func(e *trace.Event) int {
		if o.n.udpV4GetPort(k, sk, addr.Port()) != 0 {
			return -kernel.EADDRINUSE
		}
		e.Note = fmt.Sprintf("bound to %s:%d", addr.Addr(), sk.Num)
		return 0
	})
}

// Recvmsg is inet_recvmsg(): sk_prot->recvmsg, which is udp_recvmsg.
func (o dgramOps) Recvmsg(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, msg *socket.Msghdr, done func(int)) {
	k.Call(fnInetRecvmsg)
	o.n.udpRecvmsg(k, t, sock.Sk, msg, func(r int) {
		kernel.Ret(k, fnInetRecvmsg, kernel.Err(r))
		done(r)
	})
}

var fnInetGSOSegment = kernel.NewFn("inet_gso_segment", afInetC, "ip")

// inetGSOSegment is inet_gso_segment(), inet_offload's gso_segment:
// pull the IPv4 header, let the transport protocol (tcp4_gso_segment)
// cut the skb, then give every segment its own total length, an IP ID
// counting up from the original's (the IDs ip_select_ident_segs set
// aside), and a fresh header checksum.
func (n *Net) inetGSOSegment(k *kernel.Kernel, s *skb.SKB, features core.Features) *skb.SKB {
	e := k.Call(fnInetGSOSegment, s)
	s.ResetNetworkHeader()
	ip := header.IPv4(s.Data())
	if len(ip) < header.IPv4MinLen || ip.Protocol() != header.ProtoTCP || s.Pull(ip.IHL()) != nil {
		e.Note = "not a TCP packet: no segmentation"
		return kernel.Ret(k, fnInetGSOSegment, (*skb.SKB)(nil))
	}
	id := ip.ID()
	s.ResetTransportHeader()
	segs := n.tcp4GSOSegment(k, s, features, id)
	_, _ = s.Push(ip.IHL())
	c := 0
	for x := segs; x != nil; x = x.Next {
		c++
	}
	e.Note = fmt.Sprintf("%d segments, IP IDs %d..%d, each with its own tot_len and header checksum", c, id, id+uint16(c)-1)
	return kernel.Ret(k, fnInetGSOSegment, segs)
}
