package ipv4

import (
	"fmt"
	"net/netip"
	"slices"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
	"skbscope/stack/trace"
)

const tcpC = "net/ipv4/tcp.c"

// tcpState is sk->sk_state for TCP (include/net/tcp_states.h).
type tcpState int

// TCP states.
const (
	tcpEstablished tcpState = iota + 1
	tcpSynSent
	tcpSynRecv
	tcpFinWait1
	tcpFinWait2
	tcpTimeWait
	tcpClose
	tcpCloseWait
	tcpLastAck
	tcpListen
	tcpClosing
	tcpNewSynRecv
)

func (s tcpState) String() string {
	return [...]string{"", "TCP_ESTABLISHED", "TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_FIN_WAIT1", "TCP_FIN_WAIT2",
		"TCP_TIME_WAIT", "TCP_CLOSE", "TCP_CLOSE_WAIT", "TCP_LAST_ACK", "TCP_LISTEN", "TCP_CLOSING", "TCP_NEW_SYN_RECV"}[s]
}

// TCP constants of include/net/tcp.h and the sysctl defaults.
const (
	tcpInitCwnd          = 10
	tcpTimeoutInitNs     = 1_000_000_000   // TCP_TIMEOUT_INIT, 1 s
	tcpRTOMinNs          = 200_000_000     // TCP_RTO_MIN
	tcpRTOMaxNs          = 120_000_000_000 // TCP_RTO_MAX
	tcpDelackMinNs       = 40_000_000      // TCP_DELACK_MIN = HZ/25
	tcpDelackMaxNs       = 200_000_000     // TCP_DELACK_MAX = HZ/5
	tcpTimewaitLenNs     = 60_000_000_000  // TCP_TIMEWAIT_LEN
	tcpSynRetries        = 6               // net.ipv4.tcp_syn_retries
	tcpSynackRetries     = 5               // net.ipv4.tcp_synack_retries
	tcpInvalidRatelimit  = 500_000_000     // net.ipv4.tcp_invalid_ratelimit, HZ/2
	tcpSynLinearTimeouts = 4               // net.ipv4.tcp_syn_linear_timeouts
	tcpRetries2          = 15              // net.ipv4.tcp_retries2
	tcpRmemDefault       = 131072          // net.ipv4.tcp_rmem[1]
	tcpRmemMax           = 6291456         // net.ipv4.tcp_rmem[2]
	tcpWmemDefault       = 16384           // net.ipv4.tcp_wmem[1]
	maxTCPHeader         = 320             // MAX_TCP_HEADER, headroom for all headers
	tcpMaxWscale         = 14
	tcpWmemMax           = 4194304 // net.ipv4.tcp_wmem[2]
)

// tcpSock is struct tcp_sock with the inet_connection_sock parts the
// model uses. Its struct sock is sk.
type tcpSock struct {
	n     *Net
	sk    *socket.Sock
	sock  *socket.Socket
	state tcpState

	// Send sequence space.
	writeSeq, sndUna, sndNxt, sndWl1 uint32
	sndSml                           uint32 // end of the last small segment sent (Minshall)
	sndWnd                           uint32 // scaled
	maxWindow                        uint32
	// Receive sequence space.
	rcvNxt, rcvWup, copiedSeq, rcvWnd uint32
	rcvSsthresh                       uint32 // rcv_ssthresh: how far the offered window may open for now
	windowClamp                       uint32 // window_clamp: the largest window ever offered

	mss, advmss               int // mss_cache and the MSS we advertise
	sackOK, tstampOK, wsOK    bool
	sndWscale, rcvWscale      int
	tsRecent, tsOffset        uint32
	tsRecentStamp             int64 // when ts_recent was stored
	cwnd, ssthresh, cwndCnt   uint32
	maxPacketsOut             uint32 // most packets_out in this window (tcp_cwnd_validate)
	cwndUsageSeq              uint32 // the window maxPacketsOut and isCwndLimited hold for ends here
	sndCwndUsed               uint32 // most packets_out while not cwnd-limited
	sndCwndStamp              int64  // when cwnd was last found in use (snd_cwnd_stamp)
	noSpace                   bool   // SOCK_NOSPACE: a writer ran out of send buffer
	wmemAlloc                 int    // sk_wmem_alloc: truesize of the clones below TCP (qdisc, driver)
	tsqThrottled, tsqQueued   bool   // TSQF_THROTTLED, TSQF_QUEUED
	deferredTSQ               bool   // TCP_TSQ_DEFERRED
	rcvqSpace                 int    // rcvq_space.space: bytes the reader took in one RTT
	rcvqSeq                   uint32 // rcvq_space.seq
	rcvqTime                  int64  // rcvq_space.time
	rcvRTT                    int64  // rcv_rtt_est.rtt_us << 3: the receiver's own RTT estimate
	rcvRTTSeq                 uint32 // rcv_rtt_est.seq: a window after the measurement began
	rcvRTTTime                int64  // rcv_rtt_est.time
	rcvRTTLastTsecr           uint32 // rcv_rtt_last_tsecr
	isCwndLimited             bool   // cwnd limited the sender in this window
	cc                        congOps
	ca                        caState
	highSeq                   uint32
	priorCwnd                 uint32 // cwnd when the reduction began (PRR)
	prrDelivered, prrOut      int    // segments delivered and sent since then
	tlpHighSeq                uint32 // snd_nxt when a tail loss probe went; 0: none out
	tlpRetrans                bool   // the probe was a retransmission
	pushOne                   int    // tcp_write_xmit's push_one: 1 one skb (tcp_push_one), 2 a loss probe, cwnd or not
	pushedSeq                 uint32 // write_seq at the last PSH mark (tcp_mark_push)
	sackedOut, lostOut        int
	retransOut                int
	rackMstamp, rackRTT       int64
	rackEndSeq                uint32
	ofoQueue                  []*skb.SKB
	sacks                     [][2]uint32 // selective_acks we report
	srtt, rttvar, rto         int64       // ns
	retransmits, backoff      int
	pingpong                  bool // icsk_ack.pingpong: interactive, ACKs ride on data
	ackPending, quickAck      bool // an ACK is scheduled; ICSK_ACK_NOW
	quick                     int  // icsk_ack.quick: ACKs left in quick-ack mode
	ato                       int64
	lrcvtime                  int64 // icsk_ack.lrcvtime
	mdev, mdevMax, rttSeq     int64 // tcp_rtt_estimator's state (us; rttSeq is a seq)
	nagleOff                  bool  // TCP_NODELAY
	corked                    bool  // inside a tcp_push with MSG_MORE (TCP_NAGLE_CORK)
	naglePush                 bool  // inside a push with TCP_NAGLE_PUSH: Nagle does not hold
	ownedByUser               bool  // sock_owned_by_user
	bindLocked                bool  // SOCK_BINDPORT_LOCK: bound by bind(), kept at close
	lastOverflow              int64 // a listener's last syncookie (tcp_synq_overflow); 0: never
	lastOOW                   int64 // last_oow_ack_time: 0 for never
	deferredWrite             bool  // TCP_WRITE_TIMER_DEFERRED
	deferredDelack            bool  // TCP_DELACK_TIMER_DEFERRED
	writeQueue, rtxQueue      []*skb.SKB
	backlog                   []*skb.SKB // sk->sk_backlog
	retransmitTimer, delackTm kernel.Timer
	icskPending               icskTimer // what retransmitTimer is armed for
	probesOut                 int       // icsk_probes_out: zero-window probes unanswered
	twTimer                   kernel.Timer
	finSent                   bool
	wstamp                    int64 // tcp_wstamp_ns: when TCP last sent
	gsoSegs                   int   // tp->gso_segs: the segments size_goal was last set to
	minRTT                    int64 // us, the smallest RTT sample (tcp_min_rtt); 0: none yet

	// A listener's accept queue and request socks.
	parent      *tcpSock
	acceptQueue []*tcpSock
	maxBacklog  int
}

// icskTimer is icsk_pending: which event the retransmit timer
// (icsk_retransmit_timer, tcp_write_timer) is armed for.
type icskTimer int

const (
	icskTimeRetrans    icskTimer = 1 // ICSK_TIME_RETRANS: the RTO
	icskTimeReoTimeout icskTimer = 6 // ICSK_TIME_REO_TIMEOUT: RACK's reordering window
	icskTimeProbe0     icskTimer = 3 // ICSK_TIME_PROBE0: a zero-window probe
	icskTimeLossProbe  icskTimer = 5 // ICSK_TIME_LOSS_PROBE: a tail loss probe
)

// requestSock is a struct request_sock in TCP_NEW_SYN_RECV: a SYN that
// got a SYN-ACK, waiting in the established hash for the final ACK.
type requestSock struct {
	listener           *tcpSock
	laddr, raddr       netip.Addr
	lport, rport       uint16
	isn, rcvIsn        uint32
	mss                int
	sackOK, tstampOK   bool
	wscale, sndWscale  int
	tsRecent, tsOffset uint32
	rcvWnd             uint32
	windowClamp        uint32       // rsk_window_clamp
	timer              kernel.Timer // rsk_timer: reqsk_timer_handler
	retrans            int          // num_retrans: SYN-ACKs sent again
	numTimeout         int          // num_timeout: times the timer fired
	lastOOW            int64        // last_oow_ack_time: 0 for never
	sentAt             int64        // when the first SYN-ACK left
	cookie             bool         // syncookie: the ISN encodes the request, nothing is kept
}

func (tp *tcpSock) name() string { return tp.sk.Name }

func (tp *tcpSock) setState(k *kernel.Kernel, s tcpState) {
	k.Call(fnTCPSetState).Note = fmt.Sprintf("%s: %s → %s", tp.name(), tp.state, s)
	old := tp.state
	tp.state = s
	e := k.Event(trace.State, nil)
	e.Note = fmt.Sprintf("%s %s → %s", tp.name(), old, s)
	e.Vals = tp.vals()
	k.RetVoid(fnTCPSetState)
}

// vals is the socket's state as views show it (ss -ti, in effect).
func (tp *tcpSock) vals() []trace.Field {
	f := func(name string, v any) trace.Field { return trace.Field{Name: name, Value: fmt.Sprint(v)} }
	return []trace.Field{
		f("sk", tp.name()), f("state", tp.state), f("ca_state", tp.ca),
		f("snd_una", tp.sndUna), f("snd_nxt", tp.sndNxt), f("snd_wnd", tp.sndWnd),
		f("rcv_nxt", tp.rcvNxt), f("rcv_wnd", tp.rcvWnd), f("rcv_ssthresh", tp.rcvSsthresh), f("window_clamp", tp.windowClamp),
		f("cwnd", tp.cwnd), f("ssthresh", tp.ssthresh), f("packets_in_flight", tp.packetsInFlight()),
		f("srtt_us", tp.srtt>>3), f("rto_ms", tp.rto/1_000_000), f("mss", tp.mss),
		f("packets_out", tp.packetsOut()),
	}
}

var (
	fnTCPSetState        = kernel.NewFn("tcp_set_state", tcpC, "tcp")
	fnInetStreamConnect  = kernel.NewFn("inet_stream_connect", afInetC, "socket")
	fnInetStreamConnIn   = kernel.NewFn("__inet_stream_connect", afInetC, "socket")
	fnInetWaitConnect    = kernel.NewFn("inet_wait_for_connect", afInetC, "socket")
	fnInetListen         = kernel.NewFn("inet_listen", afInetC, "socket")
	fnInetCskListen      = kernel.NewFn("inet_csk_listen_start", "net/ipv4/inet_connection_sock.c", "tcp")
	fnInetAccept         = kernel.NewFn("inet_accept", afInetC, "socket")
	fnInetCskAccept      = kernel.NewFn("inet_csk_accept", "net/ipv4/inet_connection_sock.c", "tcp")
	fnInetCskWaitConn    = kernel.NewFn("inet_csk_wait_for_connect", "net/ipv4/inet_connection_sock.c", "tcp")
	fnTCPSendmsg         = kernel.NewFn("tcp_sendmsg", tcpC, "tcp")
	fnTCPSendmsgLocked   = kernel.NewFn("tcp_sendmsg_locked", tcpC, "tcp")
	fnTCPStreamAllocSkb  = kernel.NewFn("tcp_stream_alloc_skb", tcpC, "tcp")
	fnSkStreamWaitMem    = kernel.NewFn("sk_stream_wait_memory", "net/core/stream.c", "tcp")
	fnTCPPush            = kernel.NewFn("tcp_push", tcpC, "tcp")
	fnTCPRecvmsg         = kernel.NewFn("tcp_recvmsg", tcpC, "tcp")
	fnTCPRecvmsgLocked   = kernel.NewFn("tcp_recvmsg_locked", tcpC, "tcp")
	fnSkWaitData         = kernel.NewFn("sk_wait_data", "net/core/sock.c", "socket")
	fnSkbCopyDgramMsg    = kernel.NewFn("skb_copy_datagram_iter", "net/core/datagram.c", "socket")
	fnTCPRcvSpaceAdjust  = kernel.NewFn("tcp_rcv_space_adjust", "net/ipv4/tcp_input.c", "tcp")
	fnTCPInitBufferSpace = kernel.NewFn("tcp_init_buffer_space", "net/ipv4/tcp_input.c", "tcp")
	fnTCPEatRecvSkb      = kernel.NewFn("tcp_eat_recv_skb", tcpC, "tcp")
	fnTCPCleanupRbuf     = kernel.NewFn("tcp_cleanup_rbuf", tcpC, "tcp")
	fnTCPClose           = kernel.NewFn("tcp_close", tcpC, "tcp")
	fnLockSock           = kernel.NewFn("lock_sock_nested", "net/core/sock.c", "socket")
	fnReleaseSock        = kernel.NewFn("release_sock", "net/core/sock.c", "socket")
	fnReleaseSockInner   = kernel.NewFn("__release_sock", "net/core/sock.c", "socket")
	fnTCPV4DoRcvBacklog  = kernel.NewFn("sk_backlog_rcv", "include/net/sock.h", "tcp")
	tcpBacklogQueue      = "sk_backlog"
)

// streamOps is inet_stream_ops with sk_prot = tcp_prot.
type streamOps struct{ n *Net }

func tcpOf(sock *socket.Socket) *tcpSock { return sock.Sk.Proto.(*tcpSock) }

// newTCPSock is tcp_init_sock(): the defaults of a fresh TCP socket.
func (n *Net) newTCPSock(sk *socket.Sock) *tcpSock {
	tp := &tcpSock{n: n, sk: sk, state: tcpClose, cwnd: tcpInitCwnd, ssthresh: 0x7fffffff,
		rto: tcpTimeoutInitNs, mss: 536, advmss: 1460, cc: n.newCongOps()}
	sk.Proto = tp
	sk.SndBuf, sk.RcvBuf = tcpWmemDefault, tcpRmemDefault
	tp.retransmitTimer = kernel.Timer{Name: "tcp_write_timer", Fn: func() { n.tcpWriteTimer(n.K, tp) }}
	tp.delackTm = kernel.Timer{Name: "tcp_delack_timer", Fn: func() { n.tcpDelackTimer(n.K, tp) }}
	return tp
}

// lockSock is lock_sock(): the socket belongs to this task until
// release_sock; segments arriving meanwhile wait on the backlog.
func (tp *tcpSock) lockSock(k *kernel.Kernel) {
	k.Call(fnLockSock)
	tp.ownedByUser = true
	k.RetVoid(fnLockSock)
}

// releaseSock is release_sock() → __release_sock(): process the backlog
// the softirq left, then give the socket back.
func (tp *tcpSock) releaseSock(k *kernel.Kernel) {
	k.Call(fnReleaseSock)
	if len(tp.backlog) > 0 {
		k.Call(fnReleaseSockInner).Note = fmt.Sprintf("%d segment(s) arrived while %s was owned", len(tp.backlog), tp.name())
		for len(tp.backlog) > 0 {
			s := tp.backlog[0]
			tp.backlog = tp.backlog[1:]
			k.Dequeue(tp.sk.QueueName(tcpBacklogQueue), len(tp.backlog), s)
			k.Call(fnTCPV4DoRcvBacklog, s)
			tp.n.tcpV4DoRcv(k, tp, s)
			k.RetS(fnTCPV4DoRcvBacklog, "0")
		}
		k.RetVoid(fnReleaseSockInner)
	}
	tp.n.tcpReleaseCb(k, tp)
	tp.ownedByUser = false
	k.RetVoid(fnReleaseSock)
}

// waitEvent is sk_wait_event(): until cond holds, give the socket back
// (release_sock, which also processes the backlog), sleep on wq, and take
// it again (lock_sock) when woken. then runs with the socket locked.
func (tp *tcpSock) waitEvent(k *kernel.Kernel, t *kernel.Task, wq *kernel.WaitQueue, cond func() bool, then func()) {
	if cond() {
		then()
		return
	}
	tp.releaseSock(k)
	if cond() {
		tp.lockSock(k)
		then()
		return
	}
	k.Sleep(t, wq, func() {
		tp.lockSock(k)
		tp.waitEvent(k, t, wq, cond, then)
	})
}

// Bind is inet_bind() for TCP: inet_csk_get_port takes the port from
// the TCP hash tables.
func (o streamOps) Bind(k *kernel.Kernel, sock *socket.Socket, addr netip.AddrPort) int {
	return o.n.inetBind(k, sock.Sk, addr, func(e *trace.Event) int {
		if addr.Port() == 0 || o.n.tcpPortInUse(addr.Port()) {
			e.Note = fmt.Sprintf("port %d is in use (or 0: not modelled for TCP bind)", addr.Port())
			return -kernel.EADDRINUSE
		}
		sock.Sk.Num = addr.Port()
		tcpOf(sock).bindLocked = true // SOCK_BINDPORT_LOCK
		o.n.tcpBound = append(o.n.tcpBound, tcpOf(sock))
		e.Note = fmt.Sprintf("inet_csk_get_port: bound to %s", addr)
		return 0
	})
}

// Listen is inet_listen() → inet_csk_listen_start(): TCP_LISTEN, with an
// accept queue of backlog connections.
func (o streamOps) Listen(k *kernel.Kernel, sock *socket.Socket, backlog int) int {
	k.Call(fnInetListen)
	tp := tcpOf(sock)
	if tp.state != tcpClose && tp.state != tcpListen || sock.Type != socket.SockStream {
		return int(kernel.Ret(k, fnInetListen, kernel.Err(-kernel.EINVAL)))
	}
	tp.maxBacklog = backlog
	if tp.state == tcpClose {
		k.Call(fnInetCskListen).Note = fmt.Sprintf("accept queue of up to %d connections", backlog)
		if tp.sk.Num == 0 && o.n.tcpEphemeralPort(k, tp) == 0 {
			o.n.tcpBound = append(o.n.tcpBound, tp)
		}
		tp.setState(k, tcpListen)
		o.n.tcpListeners = append(o.n.tcpListeners, tp)
		k.RetS(fnInetCskListen, "0")
	}
	return int(kernel.Ret(k, fnInetListen, kernel.Err(0)))
}

// Connect is inet_stream_connect() → __inet_stream_connect(): send the
// SYN (tcp_v4_connect) and sleep in inet_wait_for_connect until the
// handshake is over.
func (o streamOps) Connect(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, addr netip.AddrPort, done func(int)) {
	k.Call(fnInetStreamConnect)
	tp := tcpOf(sock)
	tp.lockSock(k)
	k.Call(fnInetStreamConnIn)
	finish := func(r int) {
		kernel.Ret(k, fnInetStreamConnIn, kernel.Err(r))
		tp.releaseSock(k)
		done(int(kernel.Ret(k, fnInetStreamConnect, kernel.Err(r))))
	}
	switch tp.state {
	case tcpEstablished:
		finish(-kernel.EISCONN)
		return
	case tcpSynSent:
		finish(-kernel.EALREADY)
		return
	case tcpClose:
	default:
		finish(-kernel.EINVAL)
		return
	}
	if err := o.n.tcpV4Connect(k, tp, addr); err < 0 {
		finish(err)
		return
	}
	if sock.NonBl {
		finish(-kernel.EINPROGRESS)
		return
	}
	k.Call(fnInetWaitConnect).Note = tp.name() + " sleeps until the handshake completes"
	tp.waitEvent(k, t, &tp.sk.Wq, func() bool { return tp.state != tcpSynSent && tp.state != tcpSynRecv }, func() {
		k.RetS(fnInetWaitConnect, "0")
		err := 0
		if tp.sk.Err != 0 {
			err, tp.sk.Err = tp.sk.Err, 0
		} else if tp.state != tcpEstablished && tp.state != tcpCloseWait {
			err = -kernel.ECONNREFUSED
		}
		finish(err)
	})
}

// Accept is inet_accept() → inet_csk_accept(): take the first child off
// the accept queue, sleeping for one if there is none.
func (o streamOps) Accept(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, done func(*socket.Socket, int)) {
	k.Call(fnInetAccept)
	tp := tcpOf(sock)
	k.Call(fnInetCskAccept)
	tp.lockSock(k)
	finish := func(child *tcpSock, err int) {
		tp.releaseSock(k)
		if err < 0 {
			kernel.Ret(k, fnInetCskAccept, kernel.Err(err))
			kernel.Ret(k, fnInetAccept, kernel.Err(err))
			done(nil, err)
			return
		}
		k.RetS(fnInetCskAccept, child.name())
		ns := &socket.Socket{Type: socket.SockStream, Ops: o, Sk: child.sk}
		child.sock = ns
		k.RetS(fnInetAccept, "0")
		done(ns, 0)
	}
	if tp.state != tcpListen {
		finish(nil, -kernel.EINVAL)
		return
	}
	var try func()
	try = func() {
		if len(tp.acceptQueue) > 0 {
			child := tp.acceptQueue[0]
			tp.acceptQueue = tp.acceptQueue[1:]
			e := k.Event(trace.Dequeue, nil)
			e.Queue, e.QLen = tp.sk.QueueName("icsk_accept_queue"), len(tp.acceptQueue)
			e.Note = child.name() + " leaves the accept queue"
			finish(child, 0)
			return
		}
		if sock.NonBl {
			finish(nil, -kernel.EAGAIN)
			return
		}
		k.Call(fnInetCskWaitConn).Note = "accept queue empty: sleep until a connection completes"
		tp.waitEvent(k, t, &tp.sk.Wq, func() bool { return len(tp.acceptQueue) > 0 || tp.state != tcpListen }, func() {
			k.RetS(fnInetCskWaitConn, "0")
			try()
		})
	}
	try()
}

// Sendmsg is inet_sendmsg → tcp_sendmsg(): lock the socket, queue the
// user's bytes (tcp_sendmsg_locked), release it.
func (o streamOps) Sendmsg(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, msg *socket.Msghdr, done func(int)) {
	k.Call(fnInetSendmsg)
	k.Call(fnTCPSendmsg)
	tp := tcpOf(sock)
	tp.lockSock(k)
	o.n.tcpSendmsgLocked(k, t, tp, msg, func(r int) {
		tp.releaseSock(k)
		kernel.Ret(k, fnTCPSendmsg, kernel.Err(r))
		done(int(kernel.Ret(k, fnInetSendmsg, kernel.Err(r))))
	})
}

// tcpSendmsgLocked is tcp_sendmsg_locked(): append the bytes to the tail
// skb of the write queue while it is shorter than size_goal (many MSS:
// TCP always builds GSO skbs in 6.12), else to new skbs; when the send
// buffer is full, push what is queued and wait (sk_stream_wait_memory);
// finally tcp_push.
func (n *Net) tcpSendmsgLocked(k *kernel.Kernel, t *kernel.Task, tp *tcpSock, msg *socket.Msghdr, done func(int)) {
	e := k.Call(fnTCPSendmsgLocked)
	finish := func(r int) { done(int(kernel.Ret(k, fnTCPSendmsgLocked, kernel.Err(r)))) }
	if tp.state != tcpEstablished && tp.state != tcpCloseWait {
		finish(-kernel.EPIPE)
		return
	}
	data := msg.Iter
	copied := 0
	sizeGoal := n.tcpSendMss(k, tp)
	e.Note = fmt.Sprintf("mss_now %d, size_goal %d (%d segments per GSO skb)", tp.mss, sizeGoal, sizeGoal/tp.mss)
	var loop func()
	loop = func() {
		for copied < len(data) {
			var s *skb.SKB
			if l := len(tp.writeQueue); l > 0 {
				last := tp.writeQueue[l-1]
				if last.Len() < sizeGoal && last.Tailroom() > 0 {
					s = last
				}
			}
			if s == nil {
				if tp.sk.WmemAlloc >= tp.sk.SndBuf {
					// wait_for_space: send what this call queued, PSH and
					// Nagle off (TCP_NAGLE_PUSH), then wait for ACKs to
					// free memory.
					tp.noSpace = true
					if copied > 0 {
						n.tcpPush(k, tp, false, true, sizeGoal)
					}
					if msg.Flags&socket.MsgDontwait != 0 {
						if copied == 0 {
							finish(-kernel.EAGAIN)
						} else {
							finish(copied)
						}
						return
					}
					k.Call(fnSkStreamWaitMem).Note = fmt.Sprintf("sk_wmem_queued has reached sk_sndbuf %d: wait for ACKs", tp.sk.SndBuf)
					tp.waitEvent(k, t, &tp.sk.WqWrite, func() bool { return tp.sk.WmemAlloc < tp.sk.SndBuf || tp.state == tcpClose }, func() {
						k.RetS(fnSkStreamWaitMem, "0")
						loop()
					})
					return
				}
				s = n.tcpStreamAllocSkb(k, tp, sizeGoal)
				seq := tp.writeSeq
				s.TCPSkbCB().Set(seq, seq, header.TCPAck)
				tp.writeQueue = append(tp.writeQueue, s)
				k.Enqueue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), s)
			}
			chunk := min(len(data)-copied, sizeGoal-s.Len(), s.Tailroom())
			b, _ := s.PutBytes(chunk)
			copy(b, data[copied:copied+chunk])
			tp.charge(s, chunk) // sk_wmem_queued_add, as for a page fragment
			k.Spend(int64(chunk) / 16)
			copied += chunk
			cb := s.TCPSkbCB()
			cb.Set(cb.Seq(), cb.EndSeq()+uint32(chunk), cb.Flags())
			tp.writeSeq += uint32(chunk)
			// A full skb with more to copy: push now rather than at the
			// end of the write.
			if copied < len(data) && s.Len() >= sizeGoal {
				if tp.forcedPush() {
					tp.markPush(s)
					tp.naglePush = true
					n.tcpPushPendingFrames(k, tp)
					tp.naglePush = false
				} else if s == tp.writeQueue[0] {
					n.tcpPushOne(k, tp)
				}
			}
		}
		if copied > 0 {
			n.tcpPush(k, tp, msg.Flags&socket.MsgMore != 0, false, sizeGoal)
		}
		finish(copied)
	}
	loop()
}

// tcpStreamAllocSkb is tcp_stream_alloc_skb(): an skb with MAX_TCP_HEADER
// of headroom, charged to the socket (sk_wmem_queued). The kernel puts
// the payload in page fragments (NETIF_F_SG) and charges each byte as it
// is copied; the model keeps the payload linear, in a head of size bytes
// more, but charges the same way: the head's truesize now, the bytes
// later (tcpSock.charge).
func (n *Net) tcpStreamAllocSkb(k *kernel.Kernel, tp *tcpSock, size int) *skb.SKB {
	k.Call(fnTCPStreamAllocSkb)
	s := core.AllocSkb(k, maxTCPHeader+size)
	_ = s.Reserve(maxTCPHeader) // an empty skb always has room for its headroom
	s.Sk = tp.name()
	s.Truesize = skb.TrueSize(skb.KmallocSize(maxTCPHeader + skb.SharedInfoSize))
	tp.sk.WmemAlloc += s.Truesize
	s.IPSummed = skb.ChecksumPartial
	return kernel.Ret(k, fnTCPStreamAllocSkb, s, s)
}

// tcpPush is tcp_push(): when the user has no more to say (no
// MSG_MORE), mark the last skb PSH and send what the window, cwnd and
// Nagle allow; with MSG_MORE this push is corked (TCP_NAGLE_CORK): a
// last segment smaller than the MSS waits. The cork is this call's only:
// a later push (an ACK arriving) applies plain Nagle again. nagglePush
// is TCP_NAGLE_PUSH, which sendmsg uses before it sleeps for memory: a
// partial segment goes whatever Nagle would say.
func (n *Net) tcpPush(k *kernel.Kernel, tp *tcpSock, more, naglePush bool, sizeGoal int) {
	e := k.Call(fnTCPPush)
	if len(tp.writeQueue) == 0 {
		k.RetVoid(fnTCPPush)
		return
	}
	tp.corked, tp.naglePush = more, naglePush && !more
	defer func() { tp.corked, tp.naglePush = false, false }()
	if !more || tp.forcedPush() {
		tp.markPush(tp.writeQueue[len(tp.writeQueue)-1])
	}
	if tail := tp.writeQueue[len(tp.writeQueue)-1]; n.tcpShouldAutocork(k, tp, tail, sizeGoal) {
		tp.tsqThrottled = true // TCPAutoCorking
		if tp.wmemAlloc > tail.Truesize {
			e.Note = "autocorked: TSQ_THROTTLED, tcp_wfree will push"
			k.RetVoid(fnTCPPush)
			return
		}
	}
	switch {
	case tp.corked:
		e.Note = "MSG_MORE: corked (TCP_NAGLE_CORK), a partial segment waits for more"
	case tp.naglePush:
		e.Note = "out of send buffer: PSH, and TCP_NAGLE_PUSH sends even a partial segment before the wait"
	}
	n.tcpPushPendingFrames(k, tp)
	k.RetVoid(fnTCPPush)
}

// Recvmsg is inet_recvmsg → tcp_recvmsg() → tcp_recvmsg_locked().
func (o streamOps) Recvmsg(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket, msg *socket.Msghdr, done func(int)) {
	k.Call(fnInetRecvmsg)
	k.Call(fnTCPRecvmsg)
	tp := tcpOf(sock)
	tp.lockSock(k)
	o.n.tcpRecvmsgLocked(k, t, tp, msg, func(r int) {
		tp.releaseSock(k)
		kernel.Ret(k, fnTCPRecvmsg, kernel.Err(r))
		done(int(kernel.Ret(k, fnInetRecvmsg, kernel.Err(r))))
	})
}

// tcpRecvmsgLocked is tcp_recvmsg_locked(): copy from sk_receive_queue
// (skb_copy_datagram_msg), eat the skbs that are used up, and with
// nothing to read sleep in sk_wait_data; 0 at the peer's FIN.
func (n *Net) tcpRecvmsgLocked(k *kernel.Kernel, t *kernel.Task, tp *tcpSock, msg *socket.Msghdr, done func(int)) {
	k.Call(fnTCPRecvmsgLocked)
	finish := func(r int) {
		n.tcpCleanupRbuf(k, tp, r)
		done(int(kernel.Ret(k, fnTCPRecvmsgLocked, kernel.Err(r))))
	}
	if tp.state == tcpListen {
		finish(-kernel.ENOTCONN)
		return
	}
	copied := 0
	var try func()
	try = func() {
		for copied < len(msg.Iter) && len(tp.sk.ReceiveQueue) > 0 {
			s := tp.sk.ReceiveQueue[0]
			cb := s.TCPSkbCB()
			off := int(tp.copiedSeq - cb.Seq())
			avail := s.Len() - off
			if avail <= 0 {
				n.tcpEatRecvSkb(k, tp, s)
				continue
			}
			chunk := min(avail, len(msg.Iter)-copied)
			k.Call(fnSkbCopyDgramMsg, s).Note = fmt.Sprintf("skb_copy_datagram_msg: %d bytes to the user", chunk)
			copy(msg.Iter[copied:], s.Data()[off:off+chunk])
			k.Spend(int64(chunk) / 16)
			k.RetS(fnSkbCopyDgramMsg, "0")
			copied += chunk
			tp.copiedSeq += uint32(chunk)
			n.tcpRcvSpaceAdjust(k, tp)
			if off+chunk == s.Len() {
				n.tcpEatRecvSkb(k, tp, s)
			}
		}
		switch {
		case copied > 0:
			finish(copied)
		case tp.finRcvd() || tp.sk.Shutdown&socket.RcvShutdown != 0:
			finish(0)
		case tp.state == tcpClose:
			finish(-kernel.ENOTCONN)
		case tp.sk.Err != 0:
			err := tp.sk.Err
			tp.sk.Err = 0
			finish(err)
		case msg.Flags&socket.MsgDontwait != 0:
			finish(-kernel.EAGAIN)
		default:
			n.tcpCleanupRbuf(k, tp, 0)
			k.Call(fnSkWaitData).Note = "sk_receive_queue is empty: sleep until data arrives"
			tp.waitEvent(k, t, &tp.sk.Wq, func() bool {
				return len(tp.sk.ReceiveQueue) > 0 || tp.finRcvd() || tp.state == tcpClose || tp.sk.Err != 0 ||
					tp.sk.Shutdown&socket.RcvShutdown != 0
			}, func() {
				k.RetS(fnSkWaitData, "1")
				try()
			})
		}
	}
	try()
}

// finRcvd reports whether the peer's FIN has been read up to.
func (tp *tcpSock) finRcvd() bool {
	switch tp.state {
	case tcpCloseWait, tcpLastAck, tcpClosing, tcpTimeWait:
		return tp.copiedSeq+1 >= tp.rcvNxt
	}
	return false
}

// tcpEatRecvSkb is tcp_eat_recv_skb(): unlink a consumed skb, return its
// memory to the receive buffer (sock_rfree) and free it.
func (n *Net) tcpEatRecvSkb(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	k.Call(fnTCPEatRecvSkb, s)
	tp.sk.ReceiveQueue = tp.sk.ReceiveQueue[1:]
	k.Dequeue(tp.sk.QueueName(receiveQueue), len(tp.sk.ReceiveQueue), s)
	tp.sk.RmemAlloc -= s.Truesize
	core.ConsumeSkb(k, s)
	k.RetVoid(fnTCPEatRecvSkb)
}

// tcpCleanupRbuf is tcp_cleanup_rbuf(): after reading, send an ACK if one
// is owed and delayed, or if the window the peer sees can grow a lot.
func (n *Net) tcpCleanupRbuf(k *kernel.Kernel, tp *tcpSock, copied int) {
	e := k.Call(fnTCPCleanupRbuf)
	// A full segment unacknowledged, or a small pushed one that the reader
	// has just drained on a connection not in ping-pong mode: ACK now.
	timeToAck := false
	if tp.ackPending && (tp.rcvNxt-tp.rcvWup > uint32(tp.advmss) ||
		copied > 0 && !tp.pingpong && len(tp.sk.ReceiveQueue) == 0) {
		e.Note = "a delayed ACK is owed and the reader drained the queue: send it now"
		timeToAck = true
	}
	// Reading may have opened the window: if the window we could offer
	// now is at least twice what the peer was last told is left, say so
	// (a window update), so a sender stalled by a small or zero window
	// need not wait for its probe.
	if copied > 0 && !timeToAck && tp.sk.Shutdown&socket.RcvShutdown == 0 {
		if now := tp.receiveWindow(); 2*now <= tp.windowClamp {
			if w := tp.selectWindowNow(); w != 0 && w >= 2*now {
				e.Note = fmt.Sprintf("the reader freed space: window %d → %d, a window update", now, w)
				timeToAck = true
			}
		}
	}
	if timeToAck {
		n.tcpSendAck(k, tp)
	}
	k.RetVoid(fnTCPCleanupRbuf)
}

// Release is inet_release → tcp_close(): unread data means RST; otherwise
// send FIN and move towards TIME_WAIT or LAST_ACK.
func (o streamOps) Release(k *kernel.Kernel, t *kernel.Task, sock *socket.Socket) {
	k.Call(fnInetRelease)
	tp := tcpOf(sock)
	o.n.tcpClose(k, tp)
	k.RetS(fnInetRelease, "0")
}

func (n *Net) tcpClose(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPClose)
	tp.lockSock(k)
	switch tp.state {
	case tcpListen:
		e.Note = "a listener: drop the connections waiting on its accept queue"
		tp.setState(k, tcpClose)
		n.tcpUnhash(tp)
		n.inetCskListenStop(k, tp)
	case tcpClose:
	case tcpSynSent:
		n.tcpDone(k, tp)
	default:
		if unread := len(tp.sk.ReceiveQueue); unread > 0 {
			e.Note = fmt.Sprintf("%d unread skb(s): reset the connection instead of FIN", unread)
			purgeQueue(k, tp.sk, &tp.sk.ReceiveQueue, receiveQueue, skb.NotSpecified)
			tp.setState(k, tcpClose)
			n.tcpSendActiveReset(k, tp)
			n.tcpDone(k, tp)
			break
		}
		switch tp.state {
		case tcpEstablished, tcpSynRecv:
			tp.setState(k, tcpFinWait1)
			n.tcpSendFin(k, tp)
		case tcpCloseWait:
			tp.setState(k, tcpLastAck)
			n.tcpSendFin(k, tp)
		}
	}
	tp.releaseSock(k)
	k.RetVoid(fnTCPClose)
}

var (
	fnTCPSetsockopt      = kernel.NewFn("do_tcp_setsockopt", tcpC, "tcp")
	fnTCPSetsockoptOuter = kernel.NewFn("tcp_setsockopt", tcpC, "tcp")
	fnInetShutdown       = kernel.NewFn("inet_shutdown", afInetC, "socket")
	fnTCPShutdown        = kernel.NewFn("tcp_shutdown", tcpC, "tcp")
)

// TCP socket options (include/uapi/linux/tcp.h).
const (
	solTCP     = 6
	tcpNodelay = 1
)

// Setsockopt is sock_common_setsockopt() → tcp_setsockopt(): SOL_TCP
// options go to do_tcp_setsockopt, the others to the address family's
// (icsk_af_ops->setsockopt, ip_setsockopt).
func (o streamOps) Setsockopt(k *kernel.Kernel, sock *socket.Socket, level, opt, val int) int {
	k.Call(fnSockCommonSetsockopt)
	k.Call(fnTCPSetsockoptOuter)
	var r int
	if level != solTCP {
		r = ipSetsockopt(k, sock.Sk, level, opt, val)
	} else {
		r = o.n.doTCPSetsockopt(k, tcpOf(sock), opt, val)
	}
	kernel.Ret(k, fnTCPSetsockoptOuter, kernel.Err(r))
	return int(kernel.Ret(k, fnSockCommonSetsockopt, kernel.Err(r)))
}

// doTCPSetsockopt is do_tcp_setsockopt() for TCP_NODELAY: turn Nagle off
// and send what it was holding back (tcp_push_pending_frames).
func (n *Net) doTCPSetsockopt(k *kernel.Kernel, tp *tcpSock, opt, val int) int {
	e := k.Call(fnTCPSetsockopt)
	tp.lockSock(k) // sockopt_lock_sock
	if opt != tcpNodelay {
		tp.releaseSock(k)
		return int(kernel.Ret(k, fnTCPSetsockopt, kernel.Err(-kernel.ENOPROTOOPT)))
	}
	tp.nagleOff = val != 0
	e.Note = fmt.Sprintf("TCP_NODELAY %v: Nagle's algorithm %s", tp.nagleOff, map[bool]string{true: "off", false: "on"}[tp.nagleOff])
	if tp.nagleOff {
		n.tcpPushPendingFrames(k, tp)
	}
	tp.releaseSock(k)
	return int(kernel.Ret(k, fnTCPSetsockopt, kernel.Err(0)))
}

// Shutdown is inet_shutdown(): under the socket lock, how+1 becomes the
// sk_shutdown bits (RCV_SHUTDOWN for SHUT_RD, SEND_SHUTDOWN for SHUT_WR),
// and tcp_shutdown sends a FIN if sending was shut down. A socket in
// TCP_CLOSE gets -ENOTCONN, its bits set all the same. A connect in
// progress, and a listener shut down for reading, are aborted by
// sk_prot->disconnect (tcp_disconnect): back to TCP_CLOSE, unconnected.
func (o streamOps) Shutdown(k *kernel.Kernel, sock *socket.Socket, how int) int {
	e := k.Call(fnInetShutdown)
	tp := tcpOf(sock)
	bits := how + 1
	if bits&^(socket.RcvShutdown|socket.SendShutdown) != 0 || bits == 0 {
		return int(kernel.Ret(k, fnInetShutdown, kernel.Err(-kernel.EINVAL)))
	}
	tp.lockSock(k)
	rc := 0
	switch tp.state {
	case tcpListen:
		if bits&socket.RcvShutdown == 0 {
			e.Note = "SHUT_WR on a listener: nothing to do"
			break
		}
		e.Note = "a listener shut down for reading: tcp_disconnect stops it"
		rc = o.n.tcpDisconnect(k, tp)
	case tcpSynSent:
		e.Note = "a connect in progress: tcp_disconnect aborts it"
		rc = o.n.tcpDisconnect(k, tp)
	case tcpClose:
		rc = -kernel.ENOTCONN
		fallthrough
	default:
		tp.sk.Shutdown |= bits
		o.n.tcpShutdown(k, tp, bits)
	}
	tp.stateChange(k)
	tp.releaseSock(k)
	return int(kernel.Ret(k, fnInetShutdown, kernel.Err(rc)))
}

var (
	fnTCPDisconnect     = kernel.NewFn("tcp_disconnect", tcpC, "tcp")
	fnInetCskListenStop = kernel.NewFn("inet_csk_listen_stop", "net/ipv4/inet_connection_sock.c", "tcp")
)

// tcpDisconnect is tcp_disconnect(), the ABORT of RFC 793: TCP_CLOSE; a
// listener's waiting connections are reset (inet_csk_listen_stop), a
// synchronized connection gets a RST, a SYN_SENT one just reports
// ECONNRESET; timers stop, every queue is purged, and the socket is
// reset to a fresh one that may connect again, with write_seq moved past
// anything the old peer could still accept.
func (n *Net) tcpDisconnect(k *kernel.Kernel, tp *tcpSock) int {
	e := k.Call(fnTCPDisconnect)
	old := tp.state
	if old != tcpClose {
		tp.setState(k, tcpClose)
	}
	switch old {
	case tcpListen:
		n.inetCskListenStop(k, tp)
	case tcpEstablished, tcpCloseWait, tcpFinWait1, tcpFinWait2, tcpSynRecv: // tcp_need_reset
		n.tcpSendActiveReset(k, tp)
		tp.sk.Err = -kernel.ECONNRESET
	case tcpSynSent:
		tp.sk.Err = -kernel.ECONNRESET
	}
	n.tcpUnhash(tp)
	if !tp.bindLocked && old != tcpListen {
		n.tcpBound = slices.DeleteFunc(n.tcpBound, func(x *tcpSock) bool { return x == tp })
		tp.sk.Num = 0 // inet_put_port: an autobound port goes back
	}
	tp.clearXmitTimer(k) // tcp_clear_xmit_timers
	k.DelTimer(&tp.delackTm)
	purgeQueue(k, tp.sk, &tp.sk.ReceiveQueue, receiveQueue, skb.NotSpecified)
	tp.copiedSeq = tp.rcvNxt
	n.tcpWriteQueuePurge(k, tp)
	purgeQueue(k, tp.sk, &tp.ofoQueue, ofoQueueName, skb.NotSpecified)
	tp.sk.Dport = 0
	tp.sk.Shutdown = 0
	tp.srtt, tp.mdev = 0, tcpTimeoutInitNs/1000
	tp.writeSeq += tp.maxWindow + 2
	if tp.writeSeq == 0 {
		tp.writeSeq = 1
	}
	tp.backoff, tp.retransmits, tp.rto = 0, 0, tcpTimeoutInitNs
	tp.ssthresh, tp.cwnd, tp.cwndCnt = 0x7fffffff, tcpInitCwnd, 0
	tp.isCwndLimited, tp.maxPacketsOut, tp.noSpace = false, 0, false
	tp.cc.reset()
	tp.ca = caOpen
	tp.sackedOut, tp.lostOut, tp.retransOut = 0, 0, 0
	tp.rackMstamp, tp.rackRTT, tp.rackEndSeq = 0, 0, 0
	tp.ackPending, tp.quickAck, tp.quick, tp.ato, tp.pingpong = false, false, 0, 0, false
	tp.sacks = nil
	e.Note = fmt.Sprintf("%s aborted: unconnected again, write_seq %d", old, tp.writeSeq)
	return int(kernel.Ret(k, fnTCPDisconnect, kernel.Err(0)))
}

// inetCskListenStop is inet_csk_listen_stop(): the connections on the
// accept queue that nobody accepted are forgotten (inet_child_forget:
// their own disconnect resets them), and the request socks still
// waiting for their final ACK go with the listener.
func (n *Net) inetCskListenStop(k *kernel.Kernel, l *tcpSock) {
	e := k.Call(fnInetCskListenStop)
	e.Note = fmt.Sprintf("%d connection(s) on the accept queue, %d request sock(s)", len(l.acceptQueue), len(n.tcpReqs[l]))
	for len(l.acceptQueue) > 0 {
		c := l.acceptQueue[0]
		l.acceptQueue = l.acceptQueue[1:]
		q := k.Event(trace.Dequeue, nil)
		q.Queue, q.QLen, q.Note = l.sk.QueueName(acceptQueueQ), len(l.acceptQueue), c.name()+" is forgotten"
		n.tcpDisconnect(k, c)
		n.tcpDone(k, c)
	}
	for _, r := range n.tcpReqs[l] {
		k.DelTimer(&r.timer)
	}
	delete(n.tcpReqs, l)
	k.RetVoid(fnInetCskListenStop)
}

// tcpShutdown is tcp_shutdown(): with SEND_SHUTDOWN, an established
// (or CLOSE_WAIT) connection moves on as tcp_close_state says and sends
// its FIN.
func (n *Net) tcpShutdown(k *kernel.Kernel, tp *tcpSock, bits int) {
	e := k.Call(fnTCPShutdown)
	defer k.RetVoid(fnTCPShutdown)
	if bits&socket.SendShutdown == 0 {
		e.Note = "SHUT_RD: no FIN; reads return 0 once the queue is empty"
		return
	}
	switch tp.state {
	case tcpEstablished:
		tp.setState(k, tcpFinWait1)
		n.tcpSendFin(k, tp)
	case tcpCloseWait:
		tp.setState(k, tcpLastAck)
		n.tcpSendFin(k, tp)
	default:
		e.Note = "nothing to send a FIN for in this state"
	}
}

// tcpRcvSpaceAdjust is tcp_rcv_space_adjust(), receive buffer
// autotuning: once per receiver RTT (rcv_rtt_est, which the receiver
// measures itself: tcp_rcv_rtt_measure, tcp_rcv_rtt_measure_ts), if the
// reader took more than in the last one, grow sk_rcvbuf so the window
// covers twice that plus the sender's growth (up to tcp_rmem[2]).
func (n *Net) tcpRcvSpaceAdjust(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPRcvSpaceAdjust)
	defer k.RetVoid(fnTCPRcvSpaceAdjust)
	elapsed := (k.Now() - tp.rcvqTime) / 1000 // us
	if tp.rcvRTT == 0 || elapsed < tp.rcvRTT>>3 {
		return
	}
	copied := int(tp.copiedSeq-tp.rcvqSeq) - int(tp.rcvNxt-tp.copiedSeq)
	if copied > tp.rcvqSpace {
		rcvwin := 2*copied + 16*tp.advmss
		rcvwin += 2 * (rcvwin * (copied - tp.rcvqSpace) / max(tp.rcvqSpace, 1))
		rcvbuf := min(spaceFromWin(rcvwin), tcpRmemMax)
		if rcvbuf > tp.sk.RcvBuf && !tp.sk.RcvBufLocked {
			e.Note = fmt.Sprintf("%d bytes read in one receiver RTT (%d us): sk_rcvbuf %d → %d", copied, tp.rcvRTT>>3, tp.sk.RcvBuf, rcvbuf)
			tp.sk.RcvBuf = rcvbuf
			tp.windowClamp = uint32(winFromSpace(rcvbuf)) // the clamp follows the buffer
		}
		tp.rcvqSpace = copied
	}
	tp.rcvqSeq, tp.rcvqTime = tp.copiedSeq, k.Now()
}

// tcpAppWin is net.ipv4.tcp_app_win: 1/2^31 of the buffer is kept
// for the application, that is, in effect one segment (below).
const tcpAppWin = 31

// tcpInitBufferSpace is tcp_init_buffer_space(), once the connection is
// established: the send buffer grows to hold the initial window
// (tcp_sndbuf_expand), the window clamp comes down to the full space less one segment (kept in
// reserve), rcv_ssthresh to the clamp, and the autotuning measurement
// starts now, with one initial window as the space to beat.
func (n *Net) tcpInitBufferSpace(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPInitBufferSpace)
	n.tcpSndbufExpand(k, tp)
	tp.rcvqTime, tp.rcvqSeq = k.Now(), tp.copiedSeq
	maxwin := uint32(tcpFullSpace(tp))
	adv := uint32(tp.advmss)
	if tp.windowClamp >= maxwin {
		tp.windowClamp = maxwin
		if maxwin > 4*adv {
			tp.windowClamp = max(maxwin-maxwin>>tcpAppWin, 4*adv)
		}
	}
	if tp.windowClamp > 2*adv && tp.windowClamp+adv > maxwin {
		tp.windowClamp = max(2*adv, maxwin-adv)
	}
	tp.rcvSsthresh = min(tp.rcvSsthresh, tp.windowClamp)
	tp.rcvqSpace = int(min(tp.rcvSsthresh, tp.rcvWnd, uint32(tcpInitCwnd*tp.advmss)))
	e.Note = fmt.Sprintf("window_clamp %d (tcp_full_space %d less one segment in reserve), rcv_ssthresh %d", tp.windowClamp, maxwin, tp.rcvSsthresh)
	k.RetVoid(fnTCPInitBufferSpace)
}

// rcvRTTUpdate is tcp_rcv_rtt_update(): a new receiver RTT sample (us).
// A smaller one is taken as it is; a larger one is smoothed in (1/8),
// except a window-based one (winDep), which only ever lowers the
// estimate.
func (tp *tcpSock) rcvRTTUpdate(sample int64, winDep bool) {
	m := sample << 3
	if tp.rcvRTT == 0 || m < tp.rcvRTT {
		tp.rcvRTT = m
		return
	}
	if !winDep {
		tp.rcvRTT = tp.rcvRTT - tp.rcvRTT>>3 + sample
	}
}

// rcvRTTMeasure is tcp_rcv_rtt_measure(), without timestamps: the time
// it takes to receive a window's worth of data after rcv_nxt is about
// one RTT.
func (tp *tcpSock) rcvRTTMeasure(k *kernel.Kernel) {
	if tp.rcvRTTTime != 0 {
		if int32(tp.rcvNxt-tp.rcvRTTSeq) < 0 {
			return
		}
		tp.rcvRTTUpdate(max((k.Now()-tp.rcvRTTTime)/1000, 1), true)
	}
	tp.rcvRTTSeq = tp.rcvNxt + tp.rcvWnd
	tp.rcvRTTTime = k.Now()
}

// rcvRTTMeasureTs is tcp_rcv_rtt_measure_ts(): a full-sized segment
// echoing a timestamp we have not seen echoed before is a receiver RTT
// sample: now minus the echoed TSval, in milliseconds (0 ms is no
// sample: tcp_rtt_tsopt_us with min_delta 0).
func (tp *tcpSock) rcvRTTMeasureTs(k *kernel.Kernel, in *tcpRcvInfo) {
	if !in.opts.TS || in.opts.TSEcr == tp.rcvRTTLastTsecr {
		return
	}
	tp.rcvRTTLastTsecr = in.opts.TSEcr
	if int(in.end-in.seq) >= tp.mss {
		delta := int64(int32(tsNow(k) + tp.tsOffset - in.opts.TSEcr))
		if delta > 0 && delta < 1<<31/1000 {
			tp.rcvRTTUpdate(delta*1000, false)
		}
	}
}
