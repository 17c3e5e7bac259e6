package ipv4

import (
	"fmt"
	"net/netip"
	"slices"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
)

var (
	fnInetDgramConnect = kernel.NewFn("inet_dgram_connect", afInetC, "socket")
	fnIP4DgramConnect  = kernel.NewFn("__ip4_datagram_connect", "net/ipv4/datagram.c", "udp")
	fnInetRelease      = kernel.NewFn("inet_release", afInetC, "socket")
	fnUDPLibClose      = kernel.NewFn("udp_lib_close", "include/net/udp.h", "udp")
	fnSkCommonRelease  = kernel.NewFn("sk_common_release", "net/core/sock.c", "socket")
	fnSkbQueuePurge    = kernel.NewFn("skb_queue_purge_reason", "net/core/skbuff.c", "skb")
)

// Connect is inet_dgram_connect(): bind a port first (inet_autobind),
// then __ip4_datagram_connect routes to the peer and takes its address
// as the default destination, and our source address if we had none.
func (o dgramOps) Connect(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, addr netip.AddrPort, done func(int)) {
	done(o.n.datagramConnect(k, sock.Sk, addr, func() int { return o.n.udpV4GetPort(k, sock.Sk, 0) }))
}

func (n *Net) datagramConnect(k *kernel.Kernel, sk *socket.Sock, addr netip.AddrPort, getPort func() int) int {
	k.Call(fnInetDgramConnect)
	if sk.Num == 0 {
		k.Call(fnInetAutobind)
		if getPort() != 0 {
			kernel.Ret(k, fnInetAutobind, kernel.Err(-kernel.EAGAIN))
			return int(kernel.Ret(k, fnInetDgramConnect, kernel.Err(-kernel.EAGAIN)))
		}
		kernel.Ret(k, fnInetAutobind, kernel.Err(0))
	}
	e := k.Call(fnIP4DgramConnect)
	fail := func(err int) int {
		kernel.Ret(k, fnIP4DgramConnect, kernel.Err(err))
		return int(kernel.Ret(k, fnInetDgramConnect, kernel.Err(err)))
	}
	if !addr.Addr().Is4() {
		return fail(-kernel.EAFNOSUPPORT)
	}
	fl := &Flowi4{Saddr: sk.Saddr, Daddr: addr.Addr(), Dport: addr.Port(), Proto: uint8(sk.Protocol)}
	if _, err := n.ipRouteOutputFlow(k, fl); err < 0 {
		return fail(err)
	}
	if !sk.Saddr.IsValid() {
		sk.Saddr = fl.Saddr
	}
	sk.Daddr, sk.Dport = addr.Addr(), addr.Port()
	// sk_set_txhash: a random flow hash (net_tx_rndhash, never 0) that
	// every skb of the socket will carry, from the simulation's RNG.
	sk.TxHash = n.K.Sim.Rand().Uint32()
	if sk.TxHash == 0 {
		sk.TxHash = 1
	}
	e.Note = fmt.Sprintf("%s connected: %s:%d → %s, sk_txhash %#08x", sk.Name, sk.Saddr, sk.Num, addr, sk.TxHash)
	return fail(0)
}

// Listen is not for datagram sockets.
func (dgramOps) Listen(k *kernel.Kernel, sock *socket.Socket, backlog int) int {
	return -kernel.EOPNOTSUPP
}

// Accept is not for datagram sockets.
func (dgramOps) Accept(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, done func(*socket.Socket, int)) {
	done(nil, -kernel.EOPNOTSUPP)
}

// Release is inet_release() → udp_lib_close → sk_common_release, which
// unhashes the socket; dropping the last reference destroys it, and
// udp_destruct_common frees what still waits in its receive queue.
func (o dgramOps) Release(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket) {
	o.n.datagramRelease(k, sock.Sk, fnUDPLibClose, fnUDPDestructCommon, &o.n.udp)
}

func (n *Net) datagramRelease(k *kernel.Kernel, sk *socket.Sock, close, destruct *kernel.Fn, table *[]*socket.Sock) {
	k.Call(fnInetRelease)
	k.Call(close)
	k.Call(fnSkCommonRelease).Note = sk.Name + " leaves the hash table"
	*table = slices.DeleteFunc(*table, func(x *socket.Sock) bool { return x == sk })
	k.RetVoid(fnSkCommonRelease)
	k.RetVoid(close)
	k.Call(fnSkDestruct).Note = "the last reference is gone: destroy the socket"
	k.Call(destruct)
	purgeQueue(k, sk, &sk.ReceiveQueue, receiveQueue, skb.NotSpecified)
	k.RetVoid(destruct)
	k.RetVoid(fnSkDestruct)
	k.RetS(fnInetRelease, "0")
}

// purgeQueue is skb_queue_purge_reason(): free every skb of a socket
// queue with reason.
func purgeQueue(k *kernel.Kernel, sk *socket.Sock, q *[]*skb.SKB, name string, reason skb.Reason) {
	if len(*q) == 0 {
		return
	}
	k.Call(fnSkbQueuePurge)
	for len(*q) > 0 {
		s := (*q)[0]
		*q = (*q)[1:]
		k.Dequeue(sk.QueueName(name), len(*q), s)
		if name == receiveQueue || name == ofoQueueName {
			sk.RmemAlloc -= s.Truesize
		}
		core.KfreeSkbReason(k, s, reason)
	}
	k.RetVoid(fnSkbQueuePurge)
}

// Connect on a ping socket sets its default destination.
func (o pingOps) Connect(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, addr netip.AddrPort, done func(int)) {
	done(o.n.datagramConnect(k, sock.Sk, addr, func() int { return o.n.pingGetPort(k, sock.Sk) }))
}

// Listen is not for ping sockets.
func (pingOps) Listen(k *kernel.Kernel, sock *socket.Socket, backlog int) int {
	return -kernel.EOPNOTSUPP
}

// Accept is not for ping sockets.
func (pingOps) Accept(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, done func(*socket.Socket, int)) {
	done(nil, -kernel.EOPNOTSUPP)
}

// Release closes a ping socket (ping_close → sk_common_release).
func (o pingOps) Release(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket) {
	o.n.datagramRelease(k, sock.Sk, fnPingClose, fnInetSockDestruct, &o.n.ping)
}

var (
	fnPingClose         = kernel.NewFn("ping_close", pingC, "icmp")
	fnSkDestruct        = kernel.NewFn("__sk_destruct", "net/core/sock.c", "socket")
	fnUDPDestructCommon = kernel.NewFn("udp_destruct_common", udpC, "udp")
	fnInetSockDestruct  = kernel.NewFn("inet_sock_destruct", afInetC, "socket")
)
