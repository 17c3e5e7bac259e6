// Package socket models net/socket.c (the system calls) and the struct
// socket / struct sock pair every protocol hangs its state on.
package socket

import (
	"fmt"
	"net/netip"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const socketC = "net/socket.c"

var (
	fnSysSocket     = kernel.NewFn("__sys_socket", socketC, "syscall")
	fnSockCreate    = kernel.NewFn("__sock_create", socketC, "socket")
	fnSysSendto     = kernel.NewFn("__sys_sendto", socketC, "syscall")
	fnSockSendmsg   = kernel.NewFn("__sock_sendmsg", socketC, "socket")
	fnSockFromFile  = kernel.NewFn("sock_from_file", socketC, "socket")
	fnSecuritySendm = kernel.NewFn("security_socket_sendmsg", "security/security.c", "socket")
	fnSysBind       = kernel.NewFn("__sys_bind", socketC, "syscall")
	fnSysConnect    = kernel.NewFn("__sys_connect", socketC, "syscall")
	fnSysListen     = kernel.NewFn("__sys_listen", socketC, "syscall")
	fnSysAccept4    = kernel.NewFn("__sys_accept4", socketC, "syscall")
	fnDoAccept      = kernel.NewFn("do_accept", socketC, "socket")
	fnCloseFd       = kernel.NewFn("file_close_fd", "fs/file.c", "syscall")
	fnFputSync      = kernel.NewFn("__fput_sync", "fs/file_table.c", "socket")
	fnSockClose     = kernel.NewFn("sock_close", socketC, "socket")
	fnSysRecvfrom   = kernel.NewFn("__sys_recvfrom", socketC, "syscall")
	fnSockRecvmsg   = kernel.NewFn("sock_recvmsg", socketC, "socket")
	fnSecurityRecvm = kernel.NewFn("security_socket_recvmsg", "security/security.c", "socket")
)

// Address families and socket types (include/linux/socket.h, net.h).
const (
	AFInet       = 2
	SockStream   = 1
	SockDgram    = 2
	SockNonblock = 0o4000 // O_NONBLOCK, or-ed into the type
)

// Msg flags (include/linux/socket.h).
const (
	MsgPeek     = 0x02
	MsgTrunc    = 0x20
	MsgDontwait = 0x40
	MsgMore     = 0x8000
)

// Msghdr is struct msghdr as the kernel builds it for sendto().
type Msghdr struct {
	Name  *netip.AddrPort // msg_name: the destination, or nil
	Iter  []byte          // msg_iter: the user's buffer
	Flags int
}

// ProtoOps is struct proto_ops: the family's socket operations. The ones
// that may sleep finish by calling done, now or after a wake-up.
type ProtoOps interface {
	Bind(k *kernel.Kernel, sock *Socket, addr netip.AddrPort) int
	Connect(k *kernel.Kernel, t *kernel.Task, sock *Socket, addr netip.AddrPort, done func(int))
	Listen(k *kernel.Kernel, sock *Socket, backlog int) int
	Accept(k *kernel.Kernel, t *kernel.Task, sock *Socket, done func(*Socket, int))
	Release(k *kernel.Kernel, t *kernel.Task, sock *Socket)
	// Sendmsg may sleep (for send buffer space): it finishes by calling
	// done with the byte count or an errno.
	Sendmsg(k *kernel.Kernel, t *kernel.Task, sock *Socket, msg *Msghdr, done func(int))
	// Recvmsg may sleep: it finishes by calling done, now or after a
	// wake-up, with the byte count or an errno.
	Recvmsg(k *kernel.Kernel, t *kernel.Task, sock *Socket, msg *Msghdr, done func(int))
}

// Family is struct net_proto_family: creates sockets of one family.
type Family interface {
	Create(k *kernel.Kernel, sock *Socket, protocol int) int
}

// Socket is struct socket: the file-facing half.
type Socket struct {
	Type  int
	Ops   ProtoOps
	Sk    *Sock
	NonBl bool // O_NONBLOCK on the file
}

// Sock is struct sock with the inet_sock fields the model uses.
type Sock struct {
	Name     string // "sk1": how the trace names this socket
	Family   int
	Type     int
	Protocol int
	// Proto is sk->sk_prot, the transport's own state and operations.
	Proto any

	Saddr, Daddr netip.Addr // inet_saddr, inet_daddr
	Num          uint16     // inet_num: the bound local port, 0 if none
	Dport        uint16
	TOS          uint8
	TTL          int // -1: the route's default (sysctl ip_default_ttl)
	Priority     uint32
	SndBuf       int    // sk_sndbuf
	SndBufLocked bool   // SOCK_SNDBUF_LOCK: set by SO_SNDBUF, stops autotuning
	WmemAlloc    int    // sk_wmem_alloc: bytes of skbs in flight
	RcvBuf       int    // sk_rcvbuf
	RcvBufLocked bool   // SOCK_RCVBUF_LOCK: set by SO_RCVBUF, stops autotuning
	RmemAlloc    int    // sk_rmem_alloc: bytes queued for reading
	Drops        int    // sk_drops
	Err          int    // sk_err, negated: reported by the next call
	Shutdown     int    // sk_shutdown: RcvShutdown | SendShutdown
	IPID         uint16 // inet_id: the IP ID of a connected socket's next packet
	// TxHash is sk_txhash: a random flow hash a connected socket gives
	// every skb it owns (skb_set_hash_from_sk); 0 for none.
	TxHash uint32
	// PmtudiscSet says IP_MTU_DISCOVER chose Pmtudisc; until then the
	// socket has the default of inet_create, IP_PMTUDISC_WANT
	// (net.ipv4.ip_no_pmtu_disc = 0).
	PmtudiscSet bool
	Pmtudisc    int // inet->pmtudisc once set: IP_PMTUDISC_*

	// WriteQueue is sk_write_queue: corked datagrams being built.
	WriteQueue []*skb.SKB
	// ReceiveQueue is sk_receive_queue.
	ReceiveQueue []*skb.SKB
	// Wq is the socket's wait queue (sk->sk_wq): readers sleep here.
	Wq kernel.WaitQueue
	// WqWrite holds the writers waiting for sndbuf space: on the same
	// sk_wq in the kernel, woken with EPOLLOUT.
	WqWrite kernel.WaitQueue
}

// Values of inet->pmtudisc (include/uapi/linux/in.h).
const (
	IPPmtudiscDont = iota
	IPPmtudiscWant
	IPPmtudiscDo
	IPPmtudiscProbe
	IPPmtudiscInterface
	IPPmtudiscOmit
)

// PMTUDisc is inet->pmtudisc: what IP_MTU_DISCOVER set, else WANT.
func (sk *Sock) PMTUDisc() int {
	if sk.PmtudiscSet {
		return sk.Pmtudisc
	}
	return IPPmtudiscWant
}

// IgnoreDF is ip_sk_ignore_df(): a socket below IP_PMTUDISC_DO (or
// OMIT) lets its datagrams be fragmented on the way.
func (sk *Sock) IgnoreDF() bool {
	p := sk.PMTUDisc()
	return p < IPPmtudiscDo || p == IPPmtudiscOmit
}

// QueueName is how the trace names one of this socket's queues.
func (sk *Sock) QueueName(q string) string { return sk.Name + " " + q }

// Layer is the socket layer's per-host state: the families it can
// create and the net.core limits on buffer sizes.
type Layer struct {
	Families map[int]Family
	WmemMax  int // net.core.wmem_max
	RmemMax  int // net.core.rmem_max
	nsk      int
}

// Socket option names (include/uapi/asm-generic/socket.h).
const (
	SOLSocket  = 1
	SOSndBuf   = 7
	SORcvBuf   = 8
	SOPriority = 12
)

// Minimum buffer sizes (include/net/sock.h): TCP_SKB_MIN_TRUESIZE, room
// for 2 KiB and an sk_buff, and SOCK_MIN_SNDBUF, two of them.
const (
	sockMinRcvBuf = 2048 + 256
	sockMinSndBuf = 2 * sockMinRcvBuf
)

var (
	fnSysSetsockopt    = kernel.NewFn("__sys_setsockopt", socketC, "syscall")
	fnDoSockSetsockopt = kernel.NewFn("do_sock_setsockopt", socketC, "socket")
	fnSockSetsockopt   = kernel.NewFn("sock_setsockopt", "net/core/sock.c", "socket")
	fnSkSetsockopt     = kernel.NewFn("sk_setsockopt", "net/core/sock.c", "socket")
)

// SysSetsockopt is __sys_setsockopt() → do_sock_setsockopt(): SOL_SOCKET
// goes to sock_setsockopt() → sk_setsockopt(), every other level to the
// socket's proto_ops (sock_common_setsockopt → sk->sk_prot->setsockopt).
func (l *Layer) SysSetsockopt(k *kernel.Kernel, t *kernel.Task, fd, level, opt, val int) int {
	k.Call(fnSysSetsockopt).Note = fmt.Sprintf("setsockopt(%d, %d, %d, %d)", fd, level, opt, val)
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		return int(kernel.Ret(k, fnSysSetsockopt, kernel.Err(err)))
	}
	e := k.Call(fnDoSockSetsockopt)
	var r int
	if level == SOLSocket {
		k.Call(fnSockSetsockopt)
		r = int(kernel.Ret(k, fnSockSetsockopt, kernel.Err(l.skSetsockopt(k, sock.Sk, opt, val))))
	} else if p, ok := sock.Ops.(interface {
		Setsockopt(k *kernel.Kernel, sock *Socket, level, opt, val int) int
	}); ok {
		e.Note = "not SOL_SOCKET: sock->ops->setsockopt"
		r = p.Setsockopt(k, sock, level, opt, val)
	} else {
		r = -kernel.EOPNOTSUPP
	}
	kernel.Ret(k, fnDoSockSetsockopt, kernel.Err(r))
	return int(kernel.Ret(k, fnSysSetsockopt, kernel.Err(r)))
}

// skSetsockopt is sk_setsockopt(): SO_SNDBUF and SO_RCVBUF are capped at
// wmem_max/rmem_max and doubled (the kernel counts its own overhead);
// SO_PRIORITY sets skb->priority, which pfifo_fast reads to pick a band.
func (l *Layer) skSetsockopt(k *kernel.Kernel, sk *Sock, opt, val int) int {
	e := k.Call(fnSkSetsockopt)
	r := 0
	switch {
	case val < 0:
		r = -kernel.EINVAL
	case opt == SOSndBuf:
		sk.SndBuf = max(min(val, l.WmemMax)*2, sockMinSndBuf)
		sk.SndBufLocked = true
		e.Note = fmt.Sprintf("SO_SNDBUF %d: min(val, wmem_max %d) doubled = sk_sndbuf %d", val, l.WmemMax, sk.SndBuf)
	case opt == SORcvBuf:
		sk.RcvBuf = max(min(val, l.RmemMax)*2, sockMinRcvBuf)
		sk.RcvBufLocked = true
		e.Note = fmt.Sprintf("SO_RCVBUF %d: min(val, rmem_max %d) doubled = sk_rcvbuf %d", val, l.RmemMax, sk.RcvBuf)
	case opt == SOPriority && val <= 6:
		sk.Priority = uint32(val)
		e.Note = fmt.Sprintf("sk_priority %d", val)
	case opt == SOPriority:
		r = -kernel.EPERM // above 6 needs CAP_NET_ADMIN
	default:
		r = -kernel.ENOPROTOOPT
	}
	return int(kernel.Ret(k, fnSkSetsockopt, kernel.Err(r)))
}

// SysSocket is __sys_socket(): create a socket and install it in the
// task's fd table.
func (l *Layer) SysSocket(k *kernel.Kernel, t *kernel.Task, family, typ, protocol int) int {
	k.Call(fnSysSocket)
	sock := &Socket{Type: typ &^ SockNonblock, NonBl: typ&SockNonblock != 0}
	if r := l.sockCreate(k, sock, family, protocol); r < 0 {
		return int(kernel.Ret(k, fnSysSocket, kernel.Err(r)))
	}
	fd := t.Files.Install(&kernel.File{Private: sock})
	return int(kernel.Ret(k, fnSysSocket, kernel.Err(fd)))
}

func (l *Layer) sockCreate(k *kernel.Kernel, sock *Socket, family, protocol int) int {
	k.Call(fnSockCreate)
	f, ok := l.Families[family]
	if !ok {
		return int(kernel.Ret(k, fnSockCreate, kernel.Err(-kernel.EAFNOSUPPORT)))
	}
	r := f.Create(k, sock, protocol)
	if r == 0 {
		l.nsk++
		sock.Sk.Name = fmt.Sprintf("sk%d", l.nsk)
		sock.Sk.Wq.Name = sock.Sk.Name + " sk_wq"
		sock.Sk.WqWrite.Name = sock.Sk.Name + " sk_wq (writers)"
	}
	return int(kernel.Ret(k, fnSockCreate, kernel.Err(r)))
}

// SysSendto is __sys_sendto(): find the socket behind fd, build the
// msghdr and send through the protocol. It may sleep; done gets the
// result.
func (l *Layer) SysSendto(k *kernel.Kernel, t *kernel.Task, fd int, buf []byte, flags int, to *netip.AddrPort, done func(int)) {
	e := k.Call(fnSysSendto)
	e.Note = fmt.Sprintf("sendto(%d, %q, %d, 0x%x, %v)", fd, buf, len(buf), flags, addrString(to))
	finish := func(r int) {
		kernel.Ret(k, fnSysSendto, kernel.Err(r))
		done(r)
	}
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		finish(err)
		return
	}
	msg := &Msghdr{Name: to, Iter: buf, Flags: flags}
	if sock.NonBl {
		msg.Flags |= MsgDontwait
	}
	k.Call(fnSockSendmsg)
	k.Call(fnSecuritySendm)
	k.RetS(fnSecuritySendm, "0")
	sock.Ops.Sendmsg(k, t, sock, msg, func(r int) {
		kernel.Ret(k, fnSockSendmsg, kernel.Err(r))
		finish(r)
	})
}

// SysBind is __sys_bind(): give the socket a local address and port.
func (l *Layer) SysBind(k *kernel.Kernel, t *kernel.Task, fd int, addr netip.AddrPort) int {
	k.Call(fnSysBind).Note = fmt.Sprintf("bind(%d, %s)", fd, addr)
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		return int(kernel.Ret(k, fnSysBind, kernel.Err(err)))
	}
	return int(kernel.Ret(k, fnSysBind, kernel.Err(sock.Ops.Bind(k, sock, addr))))
}

// SysRecvfrom is __sys_recvfrom(): receive into a buffer of size bytes.
// It may sleep; done gets the result, the bytes and the sender's address.
func (l *Layer) SysRecvfrom(k *kernel.Kernel, t *kernel.Task, fd, size, flags int, done func(ret int, data []byte, from netip.AddrPort)) {
	k.Call(fnSysRecvfrom).Note = fmt.Sprintf("recvfrom(%d, buf, %d, 0x%x, &addr, &len)", fd, size, flags)
	fail := func(err int) {
		kernel.Ret(k, fnSysRecvfrom, kernel.Err(err))
		done(err, nil, netip.AddrPort{})
	}
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		fail(err)
		return
	}
	msg := &Msghdr{Iter: make([]byte, size), Flags: flags, Name: &netip.AddrPort{}}
	if sock.NonBl {
		msg.Flags |= MsgDontwait
	}
	k.Call(fnSockRecvmsg)
	k.Call(fnSecurityRecvm)
	k.RetS(fnSecurityRecvm, "0")
	sock.Ops.Recvmsg(k, t, sock, msg, func(r int) {
		kernel.Ret(k, fnSockRecvmsg, kernel.Err(r))
		kernel.Ret(k, fnSysRecvfrom, kernel.Err(r))
		if r < 0 {
			done(r, nil, netip.AddrPort{})
			return
		}
		done(r, msg.Iter[:r], *msg.Name)
	})
}

func addrString(a *netip.AddrPort) string {
	if a == nil {
		return "NULL"
	}
	return a.String()
}

// sockfdLookup is CLASS(fd) then sock_from_file(): -EBADF for a closed
// descriptor, -ENOTSOCK for one that is not a socket.
func sockfdLookup(k *kernel.Kernel, t *kernel.Task, fd int) (*Socket, int) {
	file := t.Files.Get(fd)
	if file == nil {
		return nil, -kernel.EBADF
	}
	return sockFromFile(k, file)
}

// sockFromFile is sock_from_file(): -ENOTSOCK unless the file is a socket.
func sockFromFile(k *kernel.Kernel, f *kernel.File) (*Socket, int) {
	k.Call(fnSockFromFile)
	if s, ok := f.Private.(*Socket); ok {
		k.RetS(fnSockFromFile, "sock")
		return s, 0
	}
	k.RetS(fnSockFromFile, "NULL")
	return nil, -kernel.ENOTSOCK
}

// SysConnect is __sys_connect(): sock->ops->connect, which for TCP
// sleeps until the handshake ends.
func (l *Layer) SysConnect(k *kernel.Kernel, t *kernel.Task, fd int, addr netip.AddrPort, done func(int)) {
	k.Call(fnSysConnect).Note = fmt.Sprintf("connect(%d, %s)", fd, addr)
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		done(int(kernel.Ret(k, fnSysConnect, kernel.Err(err))))
		return
	}
	sock.Ops.Connect(k, t, sock, addr, func(r int) {
		done(int(kernel.Ret(k, fnSysConnect, kernel.Err(r))))
	})
}

// SysListen is __sys_listen(): the backlog is capped at somaxconn.
func (l *Layer) SysListen(k *kernel.Kernel, t *kernel.Task, fd, backlog int) int {
	k.Call(fnSysListen).Note = fmt.Sprintf("listen(%d, %d)", fd, backlog)
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		return int(kernel.Ret(k, fnSysListen, kernel.Err(err)))
	}
	backlog = min(backlog, Somaxconn)
	return int(kernel.Ret(k, fnSysListen, kernel.Err(sock.Ops.Listen(k, sock, backlog))))
}

// Somaxconn is net.core.somaxconn.
const Somaxconn = 4096

// SysAccept is __sys_accept4() → do_accept(): wait for a connection on
// the accept queue and give it a new fd.
func (l *Layer) SysAccept(k *kernel.Kernel, t *kernel.Task, fd int, done func(int)) {
	k.Call(fnSysAccept4).Note = fmt.Sprintf("accept(%d, &addr, &len)", fd)
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		done(int(kernel.Ret(k, fnSysAccept4, kernel.Err(err))))
		return
	}
	k.Call(fnDoAccept)
	sock.Ops.Accept(k, t, sock, func(child *Socket, err int) {
		if err < 0 {
			kernel.Ret(k, fnDoAccept, kernel.Err(err))
			done(int(kernel.Ret(k, fnSysAccept4, kernel.Err(err))))
			return
		}
		nfd := t.Files.Install(&kernel.File{Private: child})
		k.RetS(fnDoAccept, "file")
		done(int(kernel.Ret(k, fnSysAccept4, kernel.Err(nfd))))
	})
}

// SysClose is close(): file_close_fd takes the file out of the table,
// and the last reference goes at once (__fput_sync → sock_close →
// sock->ops->release).
func (l *Layer) SysClose(k *kernel.Kernel, t *kernel.Task, fd int) int {
	e := k.Call(fnCloseFd)
	e.Note = fmt.Sprintf("close(%d)", fd)
	f := t.Files.Get(fd)
	if f == nil {
		return int(kernel.Ret(k, fnCloseFd, kernel.Err(-kernel.EBADF)))
	}
	t.Files.Close(fd)
	kernel.Ret(k, fnCloseFd, kernel.Err(0))
	if sock, ok := f.Private.(*Socket); ok {
		k.Call(fnFputSync)
		k.Call(fnSockClose)
		sock.Ops.Release(k, t, sock)
		k.RetS(fnSockClose, "0")
		k.RetVoid(fnFputSync)
	}
	return 0
}

// Shutdown values (include/linux/net.h).
const (
	ShutRd   = 0
	ShutWr   = 1
	ShutRdwr = 2
)

// sk_shutdown bits (include/net/sock.h): inet_shutdown maps how to how+1.
const (
	RcvShutdown  = 1
	SendShutdown = 2
)

var fnSysShutdown = kernel.NewFn("__sys_shutdown", socketC, "syscall")

// SysShutdown is __sys_shutdown() → sock->ops->shutdown.
func (l *Layer) SysShutdown(k *kernel.Kernel, t *kernel.Task, fd, how int) int {
	k.Call(fnSysShutdown).Note = fmt.Sprintf("shutdown(%d, %d)", fd, how)
	sock, err := sockfdLookup(k, t, fd)
	if err < 0 {
		return int(kernel.Ret(k, fnSysShutdown, kernel.Err(err)))
	}
	sh, ok := sock.Ops.(interface {
		Shutdown(k *kernel.Kernel, sock *Socket, how int) int
	})
	if !ok || how < ShutRd || how > ShutRdwr {
		return int(kernel.Ret(k, fnSysShutdown, kernel.Err(-kernel.EINVAL)))
	}
	return int(kernel.Ret(k, fnSysShutdown, kernel.Err(sh.Shutdown(k, sock, how))))
}
