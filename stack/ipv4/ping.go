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

const pingC = "net/ipv4/ping.c"

var (
	fnPingGetPort    = kernel.NewFn("ping_get_port", pingC, "icmp")
	fnPingV4Sendmsg  = kernel.NewFn("ping_v4_sendmsg", pingC, "icmp")
	fnPingGetfrag    = kernel.NewFn("ping_getfrag", pingC, "icmp")
	fnPingV4Push     = kernel.NewFn("ping_v4_push_pending_frames", pingC, "icmp")
	fnPingRcv        = kernel.NewFn("ping_rcv", pingC, "icmp")
	fnPingQueueRcv   = kernel.NewFn("__ping_queue_rcv_skb", pingC, "icmp")
	fnPingRecvmsg    = kernel.NewFn("ping_recvmsg", pingC, "icmp")
	fnSkbRecvDgram   = kernel.NewFn("__skb_recv_datagram", "net/core/datagram.c", "socket")
	fnSkbCopyDgram   = kernel.NewFn("skb_copy_datagram_iter", "net/core/datagram.c", "socket")
	fnSkbFreeDgram   = kernel.NewFn("skb_free_datagram", "net/core/datagram.c", "socket")
	fnSockQueueRcv   = kernel.NewFn("sock_queue_rcv_skb_reason", "net/core/sock.c", "socket")
	dropNoSocketPing = skb.Reason("SKB_DROP_REASON_NO_SOCKET")
)

// pingOps is inet_dgram_ops on a ping socket (SOCK_DGRAM, IPPROTO_ICMP),
// which is what iputils' ping opens when net.ipv4.ping_group_range lets
// the user: sk_prot is ping_prot.
type pingOps struct{ n *Net }

// Bind is not needed by ping; inet_bind would take an ICMP identifier.
func (o pingOps) Bind(k *kernel.Kernel, sock *socket.Socket, addr netip.AddrPort) int {
	return dgramOps(o).Bind(k, sock, addr)
}

// pingGetPort is ping_get_port(): the next free identifier after the
// global rover, never 0. The "port" of a ping socket is its echo id.
func (n *Net) pingGetPort(k *kernel.Kernel, sk *socket.Sock) int {
	e := k.Call(fnPingGetPort)
	id := n.pingRover
	for range 1 << 16 {
		id++
		if id != 0 && n.pingLookup(id) == nil {
			break
		}
	}
	n.pingRover = id
	sk.Num = id
	n.ping = append(n.ping, sk)
	e.Note = fmt.Sprintf("echo identifier %d", id)
	return int(kernel.Ret(k, fnPingGetPort, kernel.Err(0)))
}

func (n *Net) pingLookup(id uint16) *socket.Sock {
	for _, sk := range n.ping {
		if sk.Num == id {
			return sk
		}
	}
	return nil
}

// Sendmsg is inet_sendmsg → ping_v4_sendmsg(): the user's buffer starts
// with an ICMP echo header, whose identifier the kernel replaces with the
// socket's; the message is built with ip_append_data and sent by
// ping_v4_push_pending_frames.
func (o pingOps) Sendmsg(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, msg *socket.Msghdr, done func(int)) {
	n := o.n
	k.Call(fnInetSendmsg)
	sk := sock.Sk
	if sk.Num == 0 {
		k.Call(fnInetSendPrepare).Note = "inet_num is 0: bind an echo identifier"
		k.Call(fnInetAutobind)
		n.pingGetPort(k, sk)
		kernel.Ret(k, fnInetAutobind, kernel.Err(0))
		kernel.Ret(k, fnInetSendPrepare, kernel.Err(0))
	}
	n.pingV4Sendmsg(k, t, sk, msg, func(r int) {
		done(int(kernel.Ret(k, fnInetSendmsg, kernel.Err(r))))
	})
}

func (n *Net) pingV4Sendmsg(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, msg *socket.Msghdr, done func(int)) {
	e := k.Call(fnPingV4Sendmsg)
	finish := func(r int) { done(int(kernel.Ret(k, fnPingV4Sendmsg, kernel.Err(r)))) }
	l := len(msg.Iter)
	switch {
	case l > 0xffff:
		finish(-kernel.EMSGSIZE)
		return
	case l < header.ICMPLen:
		finish(-kernel.EINVAL)
		return
	case header.ICMP(msg.Iter).Type() != header.ICMPEcho || header.ICMP(msg.Iter).Code() != 0:
		e.Note = "ping sockets send echo requests only"
		finish(-kernel.EINVAL)
		return
	case msg.Name == nil:
		finish(-kernel.EDESTADDRREQ)
		return
	}
	fl := &Flowi4{Saddr: sk.Saddr, Daddr: msg.Name.Addr(), Proto: header.ProtoICMP, TOS: sk.TOS}
	rt, err := n.ipRouteOutputFlow(k, fl)
	if err < 0 {
		finish(err)
		return
	}
	m := append([]byte(nil), msg.Iter...)
	header.ICMP(m).SetID(sk.Num)
	e.Note = fmt.Sprintf("echo request id %d seq %d to %s", sk.Num, header.ICMP(m).Seq(), fl.Daddr)
	n.ipAppendDataQueued(k, t, sk, rt, fnPingGetfrag, m, msg.Flags&socket.MsgDontwait != 0, func(err int) {
		if err < 0 {
			finish(err)
			return
		}
		s := sk.WriteQueue[0]
		k.Call(fnPingV4Push, s).Note = "ICMP checksum over header and data"
		icmpQueueChecksum(sk)
		err = n.ipPushPendingFrames(k, sk, fl, rt)
		kernel.Ret(k, fnPingV4Push, kernel.Err(err))
		if err < 0 {
			finish(err)
			return
		}
		finish(l)
	})
}

// pingRcv is ping_rcv(): find the ping socket by echo identifier and
// queue a clone on it; icmp_rcv frees the original.
func (n *Net) pingRcv(k *kernel.Kernel, s *skb.SKB) skb.Reason {
	e := k.Call(fnPingRcv, s)
	id := header.ICMP(s.Data()).ID()
	sk := n.pingLookup(id)
	if sk == nil {
		e.Note = fmt.Sprintf("no ping socket with identifier %d", id)
		kernel.Ret(k, fnPingRcv, kernel.Err(0))
		return dropNoSocketPing
	}
	c := core.SkbClone(k, s)
	k.Call(fnPingQueueRcv, c)
	k.Call(fnSockQueueRcv, c)
	if sk.RmemAlloc+c.Truesize > sk.RcvBuf {
		kernel.Ret(k, fnSockQueueRcv, kernel.Err(-kernel.ENOMEM))
		core.KfreeSkbReason(k, c, dropSocketRcvbuff)
	} else {
		n.queueRcv(k, sk, c)
		kernel.Ret(k, fnSockQueueRcv, kernel.Err(0))
	}
	k.RetS(fnPingQueueRcv, "0")
	k.RetS(fnPingRcv, "SKB_NOT_DROPPED_YET")
	return ""
}

// queueRcv charges s to sk, queues it on sk_receive_queue and wakes the
// readers (sk_data_ready = sock_def_readable).
func (n *Net) queueRcv(k *kernel.Kernel, sk *socket.Sock, s *skb.SKB) {
	sk.RmemAlloc += s.Truesize
	s.Sk = sk.Name
	sk.ReceiveQueue = append(sk.ReceiveQueue, s)
	k.Enqueue(sk.QueueName(receiveQueue), len(sk.ReceiveQueue), s).Note = fmt.Sprintf("sk_rmem_alloc %d of sk_rcvbuf %d", sk.RmemAlloc, sk.RcvBuf)
	k.Call(fnSockDefReadable).Note = fmt.Sprintf("%d task(s) waiting on %s", sk.Wq.Len(), sk.Wq.Name)
	k.WakeUp(&sk.Wq)
	k.RetVoid(fnSockDefReadable)
}

// Recvmsg is inet_recvmsg → ping_recvmsg(): take a datagram, sleeping
// for one (__skb_recv_datagram), copy the ICMP message to the user and
// free it.
func (o pingOps) Recvmsg(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, msg *socket.Msghdr, done func(int)) {
	n := o.n
	k.Call(fnInetRecvmsg)
	k.Call(fnPingRecvmsg)
	sk := sock.Sk
	finish := func(r int) {
		kernel.Ret(k, fnPingRecvmsg, kernel.Err(r))
		kernel.Ret(k, fnInetRecvmsg, kernel.Err(r))
		done(r)
	}
	n.recvDatagram(k, t, sk, msg.Flags, fnSkbRecvDgram, func(s *skb.SKB, err int) {
		if s == nil {
			finish(err)
			return
		}
		copied := min(len(msg.Iter), s.Len())
		k.Call(fnSkbCopyDgram, s).Note = fmt.Sprintf("%d bytes of ICMP message to the user", copied)
		copy(msg.Iter, s.CopyBits(0, copied))
		k.RetS(fnSkbCopyDgram, "0")
		ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
		*msg.Name = netip.AddrPortFrom(ip.Src(), 0)
		k.Call(fnSkbFreeDgram, s)
		sk.RmemAlloc -= s.Truesize
		core.ConsumeSkb(k, s)
		k.RetVoid(fnSkbFreeDgram)
		finish(copied)
	})
}

// recvDatagram is the dequeue-or-sleep loop of __skb_recv_udp and
// __skb_recv_datagram (f names which): a pending socket error first,
// then the first queued skb; with none, -EAGAIN for a non-blocking reader,
// else sleep in __skb_wait_for_more_packets until sk_data_ready.
func (n *Net) recvDatagram(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, flags int, f *kernel.Fn, done func(*skb.SKB, int)) {
	k.Call(f)
	var try func()
	try = func() {
		if err := sk.Err; err != 0 {
			sk.Err = 0
			k.RetS(f, "NULL")
			done(nil, err)
			return
		}
		if len(sk.ReceiveQueue) > 0 {
			s := sk.ReceiveQueue[0]
			sk.ReceiveQueue = sk.ReceiveQueue[1:]
			k.Dequeue(sk.QueueName(receiveQueue), len(sk.ReceiveQueue), s)
			k.RetS(f, "skb", s)
			done(s, 0)
			return
		}
		if flags&socket.MsgDontwait != 0 {
			k.RetS(f, "NULL")
			done(nil, -kernel.EAGAIN)
			return
		}
		k.Call(fnSkbWaitForMore).Note = "sk_receive_queue is empty: sleep until a datagram arrives"
		k.Sleep(t, &sk.Wq, func() {
			k.RetS(fnSkbWaitForMore, "0")
			try()
		})
	}
	try()
}
