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

const (
	tcpIPv4C          = "net/ipv4/tcp_ipv4.c"
	inetHashC         = "net/ipv4/inet_hashtables.c"
	tcpMinisocksC     = "net/ipv4/tcp_minisocks.c"
	inetConnSockC     = "net/ipv4/inet_connection_sock.c"
	acceptQueueQ      = "icsk_accept_queue"
	reqQueueQ         = "request socks (SYN_RECV)"
	dropNoSocketT     = skb.Reason("SKB_DROP_REASON_NO_SOCKET")
	dropTCPCsum       = skb.Reason("SKB_DROP_REASON_TCP_CSUM")
	dropTCPFlags      = skb.Reason("SKB_DROP_REASON_TCP_FLAGS")
	dropTCPOldData    = skb.Reason("SKB_DROP_REASON_TCP_OLD_DATA")
	dropTCPInvSeq     = skb.Reason("SKB_DROP_REASON_TCP_INVALID_SEQUENCE")
	dropTCPOldSeq     = skb.Reason("SKB_DROP_REASON_TCP_OLD_SEQUENCE")
	dropTCPPaws       = skb.Reason("SKB_DROP_REASON_TCP_RFC7323_PAWS")
	dropTCPInvalidSyn = skb.Reason("SKB_DROP_REASON_TCP_INVALID_SYN")
	dropTCPReset      = skb.Reason("SKB_DROP_REASON_TCP_RESET")
)

var (
	fnTCPV4Connect        = kernel.NewFn("tcp_v4_connect", tcpIPv4C, "tcp")
	fnInetHashConnect     = kernel.NewFn("inet_hash_connect", inetHashC, "tcp")
	fnSecureTCPSeq        = kernel.NewFn("secure_tcp_seq_and_ts_off", "net/core/secure_seq.c", "tcp")
	fnTCPV4Rcv            = kernel.NewFn("tcp_v4_rcv", tcpIPv4C, "tcp")
	fnInetLookupSkb       = kernel.NewFn("__inet_lookup_skb", "include/net/inet_hashtables.h", "tcp")
	fnTCPV4DoRcv          = kernel.NewFn("tcp_v4_do_rcv", tcpIPv4C, "tcp")
	fnTCPAddBacklog       = kernel.NewFn("tcp_add_backlog", tcpIPv4C, "tcp")
	fnTCPV4SendReset      = kernel.NewFn("tcp_v4_send_reset", tcpIPv4C, "tcp")
	fnTCPV4ConnRequest    = kernel.NewFn("tcp_v4_conn_request", tcpIPv4C, "tcp")
	fnTCPConnRequest      = kernel.NewFn("tcp_conn_request", "net/ipv4/tcp_input.c", "tcp")
	fnReqskQueueHashAdd   = kernel.NewFn("inet_csk_reqsk_queue_hash_add", inetConnSockC, "tcp")
	fnTCPV4SendSynack     = kernel.NewFn("tcp_v4_send_synack", tcpIPv4C, "tcp")
	fnTCPMakeSynack       = kernel.NewFn("tcp_make_synack", tcpOutputC, "tcp")
	fnIPBuildAndSendPkt   = kernel.NewFn("ip_build_and_send_pkt", ipOutputC, "ip")
	fnTCPCheckReq         = kernel.NewFn("tcp_check_req", tcpMinisocksC, "tcp")
	fnTCPV4SynRecvSock    = kernel.NewFn("tcp_v4_syn_recv_sock", tcpIPv4C, "tcp")
	fnTCPCreateOpenreq    = kernel.NewFn("tcp_create_openreq_child", tcpMinisocksC, "tcp")
	fnCompleteHashdance   = kernel.NewFn("inet_csk_complete_hashdance", inetConnSockC, "tcp")
	fnReqskQueueAdd       = kernel.NewFn("inet_csk_reqsk_queue_add", inetConnSockC, "tcp")
	fnTCPChildProcess     = kernel.NewFn("tcp_child_process", tcpMinisocksC, "tcp")
	fnTCPTimeWait         = kernel.NewFn("tcp_time_wait", tcpMinisocksC, "tcp")
	fnTCPTwStateProcess   = kernel.NewFn("tcp_timewait_state_process", tcpMinisocksC, "tcp")
	fnInetTwskKill        = kernel.NewFn("inet_twsk_kill", "net/ipv4/inet_timewait_sock.c", "tcp")
	fnTCPDone             = kernel.NewFn("tcp_done", tcpC, "tcp")
	fnSockDefWakeup       = kernel.NewFn("sock_def_wakeup", "net/core/sock.c", "socket")
	fnSkStateChangeWakeup = kernel.NewFn("sk_state_change", "include/net/sock.h", "socket")
)

// Create for SOCK_STREAM: inet_create with tcp_prot (tcp_v4_init_sock).
func (n *Net) createStream(sock *socket.Socket) {
	sock.Ops = streamOps{n}
	sk := &socket.Sock{Family: socket.AFInet, Type: socket.SockStream, Protocol: header.ProtoTCP, TTL: -1}
	sock.Sk = sk
	n.newTCPSock(sk).sock = sock
}

// tcpPortInUse reports whether a TCP socket holds port p.
func (n *Net) tcpPortInUse(p uint16) bool {
	return slices.ContainsFunc(n.tcpBound, func(tp *tcpSock) bool { return tp.sk.Num == p })
}

// tcpEphemeralPort is inet_hash_connect()'s port choice: from a random
// offset in ip_local_port_range, even ports first (odd ones are left for
// bind()), the first not in use.
func (n *Net) tcpEphemeralPort(k *kernel.Kernel, tp *tcpSock) int {
	e := k.Call(fnInetHashConnect)
	low, high := n.LocalPortLow, n.LocalPortHigh
	span := high - low + 1
	off := n.K.Sim.Rand().IntN(span) &^ 1
	for parity := range 2 {
		for i := 0; i < span; i += 2 {
			p := uint16(low + (off+i+parity)%span)
			if !n.tcpPortInUse(p) {
				tp.sk.Num = p
				e.Note = fmt.Sprintf("ephemeral port %d (__inet_hash_connect tries even ports first)", p)
				return int(kernel.Ret(k, fnInetHashConnect, kernel.Err(0)))
			}
		}
	}
	return int(kernel.Ret(k, fnInetHashConnect, kernel.Err(-kernel.EADDRNOTAVAIL)))
}

// tcpV4Connect is tcp_v4_connect(): route to the peer, pick the source
// address, SYN_SENT, an ephemeral port (inet_hash_connect), the initial
// sequence number and timestamp offset, then tcp_connect sends the SYN.
func (n *Net) tcpV4Connect(k *kernel.Kernel, tp *tcpSock, addr netip.AddrPort) int {
	e := k.Call(fnTCPV4Connect)
	if !addr.Addr().Is4() || addr.Port() == 0 {
		return int(kernel.Ret(k, fnTCPV4Connect, kernel.Err(-kernel.EINVAL)))
	}
	fl := &Flowi4{Saddr: tp.sk.Saddr, Daddr: addr.Addr(), Dport: addr.Port(), Proto: header.ProtoTCP}
	rt, err := n.ipRouteOutputFlow(k, fl)
	if err < 0 {
		return int(kernel.Ret(k, fnTCPV4Connect, kernel.Err(err)))
	}
	tp.sk.Saddr, tp.sk.Daddr, tp.sk.Dport = fl.Saddr, addr.Addr(), addr.Port()
	tp.setState(k, tcpSynSent)
	if tp.sk.Num == 0 {
		if err := n.tcpEphemeralPort(k, tp); err < 0 {
			tp.setState(k, tcpClose)
			return int(kernel.Ret(k, fnTCPV4Connect, kernel.Err(err)))
		}
		n.tcpBound = append(n.tcpBound, tp)
	}
	n.tcpEstablished = append(n.tcpEstablished, tp)
	k.Call(fnSecureTCPSeq).Note = "keyed hash of the 4-tuple plus a clock: the ISN and the timestamp offset"
	tp.writeSeq = n.K.Sim.Rand().Uint32()
	tp.tsOffset = n.K.Sim.Rand().Uint32()
	tp.sk.IPID = uint16(n.K.Sim.Rand().Uint32())
	k.RetS(fnSecureTCPSeq, fmt.Sprintf("seq %d", tp.writeSeq))
	e.Note = fmt.Sprintf("%s:%d → %s, ISN %d", tp.sk.Saddr, tp.sk.Num, addr, tp.writeSeq)
	return int(kernel.Ret(k, fnTCPV4Connect, kernel.Err(n.tcpConnect(k, tp, rt.MTU))))
}

// tcpUnhash removes a socket from every TCP table.
func (n *Net) tcpUnhash(tp *tcpSock) {
	del := func(x *tcpSock) bool { return x == tp }
	n.tcpListeners = slices.DeleteFunc(n.tcpListeners, del)
	n.tcpEstablished = slices.DeleteFunc(n.tcpEstablished, del)
}

// tcpDone is tcp_done(): CLOSE, off the tables, timers stopped, the
// owner woken.
func (n *Net) tcpDone(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPDone)
	if tp.state != tcpClose {
		tp.setState(k, tcpClose)
	}
	n.tcpUnhash(tp)
	n.tcpBound = slices.DeleteFunc(n.tcpBound, func(x *tcpSock) bool { return x == tp })
	tp.clearXmitTimer(k)
	k.DelTimer(&tp.delackTm)
	purgeQueue(k, tp.sk, &tp.ofoQueue, ofoQueueName, skb.NotSpecified)
	n.tcpWriteQueuePurge(k, tp)
	tp.stateChange(k)
	k.RetVoid(fnTCPDone)
}

// tcpWriteQueuePurge is tcp_write_queue_purge(): free everything sent or
// not, uncharged from the socket.
func (n *Net) tcpWriteQueuePurge(k *kernel.Kernel, tp *tcpSock) {
	for len(tp.rtxQueue) > 0 {
		s := tp.rtxQueue[0]
		tp.rtxQueue = tp.rtxQueue[1:]
		k.Dequeue(tp.sk.QueueName(rtxQueueName), len(tp.rtxQueue), s)
		tp.freeWmem(k, s)
	}
	for len(tp.writeQueue) > 0 {
		s := tp.writeQueue[0]
		tp.writeQueue = tp.writeQueue[1:]
		k.Dequeue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), s)
		tp.freeWmem(k, s)
	}
}

// freeWmem frees a queued skb and uncharges it (sk_wmem_free_skb).
func (tp *tcpSock) freeWmem(k *kernel.Kernel, s *skb.SKB) {
	tp.sk.WmemAlloc -= s.Truesize
	core.ConsumeSkb(k, s)
}

// stateChange is sk->sk_state_change (sock_def_wakeup): wake whoever
// waits on the socket. The writers sleeping in sk_stream_wait_memory wait
// on the same sk_wq in the kernel.
func (tp *tcpSock) stateChange(k *kernel.Kernel) {
	if tp.sk.Wq.Len() == 0 && tp.sk.WqWrite.Len() == 0 {
		return
	}
	k.Call(fnSockDefWakeup).Note = tp.name() + " is now " + tp.state.String()
	k.WakeUp(&tp.sk.Wq)
	k.WakeUp(&tp.sk.WqWrite)
	k.RetVoid(fnSockDefWakeup)
}

// tcpRcvInfo is what tcp_v4_rcv reads out of a segment.
type tcpRcvInfo struct {
	ip   header.IPv4
	th   header.TCP
	opts header.TCPOptions
	seq  uint32
	end  uint32
	ack  uint32
	fl   uint8
	dlen int
	// updateTS is FLAG_UPDATE_TS_RECENT: the slow path validated the
	// segment, so tcp_ack may store its timestamp.
	updateTS bool
}

// tcpV4Rcv is tcp_v4_rcv(): check the header and checksum, fill
// TCP_SKB_CB, find the socket (established, request, time-wait or
// listener) and hand the segment over, or reset.
func (n *Net) tcpV4Rcv(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnTCPV4Rcv, s)
	done := func() { k.RetS(fnTCPV4Rcv, "0") }
	th := header.TCP(s.Data())
	if len(th) < header.TCPMinLen || th.DataOff() < header.TCPMinLen || th.DataOff() > len(th) {
		e.Note = "bad TCP header length"
		core.KfreeSkbReason(k, s, dropPktTooSmall)
		done()
		return
	}
	ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	if !s.CsumUnnecessary() && header.Fold(header.Sum(header.PseudoSum(ip.Src(), ip.Dst(), header.ProtoTCP, len(th)), th)) != 0xffff {
		e.Note = "bad TCP checksum"
		core.KfreeSkbReason(k, s, dropTCPCsum)
		done()
		return
	}
	in := &tcpRcvInfo{ip: ip, th: th, opts: th.Options(), seq: th.Seq(), ack: th.Ack(), fl: th.Flags(), dlen: len(th) - th.DataOff()}
	in.end = in.seq + uint32(in.dlen)
	if in.fl&header.TCPSyn != 0 {
		in.end++
	}
	if in.fl&header.TCPFin != 0 {
		in.end++
	}
	cb := s.TCPSkbCB()
	cb.Set(in.seq, in.end, in.fl)
	cb.SetAckSeq(in.ack)
	e.Note = fmt.Sprintf("%s:%d → %s:%d %s seq %d ack %d win %d len %d", ip.Src(), th.SrcPort(), ip.Dst(), th.DstPort(),
		tcpFlagString(in.fl), in.seq, in.ack, th.Window(), in.dlen)
	k.Call(fnInetLookupSkb, s)
	tp, req := n.tcpLookupEstablished(ip.Dst(), th.DstPort(), ip.Src(), th.SrcPort())
	if tp == nil && req == nil {
		tp = n.tcpLookupListener(ip.Dst(), th.DstPort())
	}
	switch {
	case req != nil:
		k.RetS(fnInetLookupSkb, "request_sock (TCP_NEW_SYN_RECV)")
		n.tcpRcvForRequest(k, req, s, in)
	case tp == nil:
		k.RetS(fnInetLookupSkb, "NULL")
		e.Note += ": no socket"
		if in.fl&header.TCPRst == 0 {
			n.tcpV4SendReset(k, s, in)
		}
		core.KfreeSkbReason(k, s, dropNoSocketT)
	case tp.state == tcpTimeWait:
		k.RetS(fnInetLookupSkb, tp.name()+" (TCP_TIME_WAIT)")
		n.tcpTimewaitStateProcess(k, tp, s, in)
	case tp.state == tcpListen:
		k.RetS(fnInetLookupSkb, tp.name()+" (TCP_LISTEN)")
		n.tcpV4DoRcv(k, tp, s)
	case tp.ownedByUser:
		k.RetS(fnInetLookupSkb, tp.name())
		k.Call(fnTCPAddBacklog, s).Note = tp.name() + " is owned by its task: the segment waits on the backlog until release_sock"
		tp.backlog = append(tp.backlog, s)
		k.Enqueue(tp.sk.QueueName(tcpBacklogQueue), len(tp.backlog), s)
		k.RetS(fnTCPAddBacklog, "false")
	default:
		k.RetS(fnInetLookupSkb, tp.name())
		n.tcpV4DoRcv(k, tp, s)
	}
	done()
}

// tcpLookupEstablished is __inet_lookup_established(): the socket (or
// request sock) of this exact 4-tuple.
func (n *Net) tcpLookupEstablished(laddr netip.Addr, lport uint16, raddr netip.Addr, rport uint16) (*tcpSock, *requestSock) {
	for _, tp := range n.tcpEstablished {
		if tp.sk.Num == lport && tp.sk.Dport == rport && tp.sk.Daddr == raddr && tp.sk.Saddr == laddr {
			return tp, nil
		}
	}
	for _, l := range n.tcpListeners {
		for _, r := range l.reqsOf(n) {
			if r.lport == lport && r.rport == rport && r.raddr == raddr && r.laddr == laddr {
				return nil, r
			}
		}
	}
	return nil, nil
}

func (tp *tcpSock) reqsOf(n *Net) []*requestSock { return n.tcpReqs[tp] }

// tcpLookupListener is __inet_lookup_listener().
func (n *Net) tcpLookupListener(laddr netip.Addr, lport uint16) *tcpSock {
	for _, tp := range n.tcpListeners {
		if tp.sk.Num == lport && (!tp.sk.Saddr.IsValid() || tp.sk.Saddr == laddr) {
			return tp
		}
	}
	return nil
}

// tcpV4DoRcv is tcp_v4_do_rcv(): established sockets take the fast way
// (tcp_rcv_established); every other state goes through
// tcp_rcv_state_process.
func (n *Net) tcpV4DoRcv(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	k.Call(fnTCPV4DoRcv, s)
	if tp.state == tcpListen {
		switch child, valid := n.tcpV4CookieCheck(k, tp, s); {
		case child != nil:
			k.Call(fnTCPChildProcess, s)
			n.tcpRcvStateProcess(k, child, s)
			k.RetS(fnTCPChildProcess, "0")
			tp.stateChange(k)
			k.RetS(fnTCPV4DoRcv, "0")
			return
		case valid:
			core.KfreeSkbReason(k, s, skb.NotSpecified)
			k.RetS(fnTCPV4DoRcv, "0")
			return
		}
	}
	if tp.state == tcpEstablished {
		n.tcpRcvEstablished(k, tp, s)
	} else {
		n.tcpRcvStateProcess(k, tp, s)
	}
	k.RetS(fnTCPV4DoRcv, "0")
}

// tcpV4SendReset is tcp_v4_send_reset(): answer a segment nobody wants.
// The RST goes from the kernel's per-CPU control socket with
// ip_send_unicast_reply; an ACK in the segment is echoed as the RST's
// sequence number, else RST|ACK acknowledges what the segment carried.
func (n *Net) tcpV4SendReset(k *kernel.Kernel, in *skb.SKB, info *tcpRcvInfo) {
	e := k.Call(fnTCPV4SendReset, in)
	seq, ack, flags := uint32(0), uint32(0), uint8(header.TCPRst)
	if info.fl&header.TCPAck != 0 {
		seq = info.ack
	} else {
		ack = info.end
		flags |= header.TCPAck
	}
	e.Note = fmt.Sprintf("RST %s seq %d ack %d to %s:%d", tcpFlagString(flags), seq, ack, info.ip.Src(), info.th.SrcPort())
	n.tcpSendControl(k, info.ip.Dst(), info.th.DstPort(), info.ip.Src(), info.th.SrcPort(), seq, ack, flags, 0, nil)
	k.RetVoid(fnTCPV4SendReset)
}

var fnIPSendUnicastReply = kernel.NewFn("ip_send_unicast_reply", ipOutputC, "ip")

// tcpSendControl sends a TCP segment that belongs to no socket (RST, or
// the ACK a time-wait socket owes) through the control socket.
func (n *Net) tcpSendControl(k *kernel.Kernel, saddr netip.Addr, sport uint16, daddr netip.Addr, dport uint16, seq, ack uint32, flags uint8, win uint16, opts []byte) {
	k.Call(fnIPSendUnicastReply)
	fl := &Flowi4{Saddr: saddr, Daddr: daddr, Proto: header.ProtoTCP}
	rt, err := n.ipRouteOutputFlow(k, fl)
	if err < 0 {
		k.RetVoid(fnIPSendUnicastReply)
		return
	}
	s := core.AllocSkb(k, maxTCPHeader)
	_ = s.Reserve(maxTCPHeader)
	hlen := header.TCPMinLen + len(opts)
	h, _ := s.Push(hlen)
	s.ResetTransportHeader()
	header.TCP(h).Encode(sport, dport, seq, ack, hlen, flags, win)
	copy(h[header.TCPMinLen:], opts)
	header.TCP(h).SetChecksum(header.TransportChecksum(saddr, daddr, header.ProtoTCP, h))
	ih, _ := s.Push(header.IPv4MinLen)
	s.ResetNetworkHeader()
	header.IPv4(ih).Encode(0, 0, header.IPv4DF, uint8(n.DefaultTTL), header.ProtoTCP, saddr, daddr)
	s.Protocol, s.Dst = header.EtherTypeIPv4, rt
	n.ipLocalOut(k, s)
	k.RetVoid(fnIPSendUnicastReply)
}

// tcpV4ConnRequest is tcp_v4_conn_request() → tcp_conn_request(): a SYN
// on a listener. Unless the queue of request socks or the accept queue
// is over the listen backlog, make a request sock (TCP_NEW_SYN_RECV),
// hash it, and answer with a SYN-ACK. With the request queue full
// (a SYN flood?), the SYN-ACK carries a syncookie instead
// (tcp_syncookies = 1) and no request sock is kept. A SYN the accept
// queue has no room for is dropped (tcp_listendrop) and consumed: 6.12
// has no drop reason for it.
func (n *Net) tcpV4ConnRequest(k *kernel.Kernel, l *tcpSock, s *skb.SKB) {
	k.Call(fnTCPV4ConnRequest, s)
	e := k.Call(fnTCPConnRequest, s)
	ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	th := header.TCP(s.Data())
	o := th.Options()
	wantCookie := len(n.tcpReqs[l]) > l.maxBacklog && n.tcpSynFloodAction(k, l) // inet_csk_reqsk_queue_is_full
	if len(l.acceptQueue) > l.maxBacklog {                                      // sk_acceptq_is_full
		e.Note = fmt.Sprintf("accept queue full (%d, backlog %d): LISTENOVERFLOWS, the SYN is dropped", len(l.acceptQueue), l.maxBacklog)
		core.ConsumeSkb(k, s) // tcp_rcv_state_process consumes every SYN
		k.RetS(fnTCPConnRequest, "0")
		k.RetS(fnTCPV4ConnRequest, "0")
		return
	}
	dev := n.Core.Device(s.Dev)
	mtu := 1500
	if dev != nil {
		mtu = dev.MTU
	}
	r := &requestSock{listener: l, laddr: ip.Dst(), raddr: ip.Src(), lport: th.DstPort(), rport: th.SrcPort(),
		rcvIsn: th.Seq(), isn: n.K.Sim.Rand().Uint32(), tsOffset: n.K.Sim.Rand().Uint32(),
		sackOK: o.SACKPerm, tstampOK: o.TS, tsRecent: o.TSVal, sndWscale: o.WScale, wscale: -1}
	r.mss = mtu - header.IPv4MinLen - header.TCPMinLen
	if o.MSS != 0 {
		r.mss = min(r.mss, int(o.MSS))
	}
	rmss := mtu - header.IPv4MinLen - header.TCPMinLen
	if r.tstampOK {
		rmss -= 12 // TCPOLEN_TSTAMP_ALIGNED
	}
	var ws int
	r.rcvWnd, ws, r.windowClamp = selectInitialWindow(k, tcpFullSpace(l), rmss) // tcp_openreq_init_rwin: the listener's buffer
	if o.WScale >= 0 {
		r.wscale = ws
	}
	if wantCookie {
		n.cookieV4InitSequence(k, l, r)
		e.Note = fmt.Sprintf("SYN from %s:%d: no request sock, the ISN %d is a syncookie", r.raddr, r.rport, r.isn)
		n.tcpV4SendSynack(k, r)
		core.ConsumeSkb(k, s)
		k.RetS(fnTCPConnRequest, "0")
		k.RetS(fnTCPV4ConnRequest, "0")
		return
	}
	e.Note = fmt.Sprintf("SYN from %s:%d: request sock, ISN %d, mss %d%s", r.raddr, r.rport, r.isn, r.mss, optNote(o))
	k.Call(fnReqskQueueHashAdd).Note = "the request sock joins the established hash as TCP_NEW_SYN_RECV; SYN-ACK timer armed for 1 s (TCP_TIMEOUT_INIT)"
	n.tcpReqs[l] = append(n.tcpReqs[l], r)
	q := k.Event(trace.Enqueue, nil)
	q.Queue, q.QLen = l.sk.QueueName(reqQueueQ), len(n.tcpReqs[l])
	r.timer = kernel.Timer{Name: "reqsk_timer_handler", Fn: func() { n.reqskTimerHandler(n.K, r) }}
	k.ModTimer(&r.timer, k.Now()+tcpTimeoutInitNs)
	k.RetVoid(fnReqskQueueHashAdd)
	n.tcpV4SendSynack(k, r)
	core.ConsumeSkb(k, s)
	k.RetS(fnTCPConnRequest, "0")
	k.RetS(fnTCPV4ConnRequest, "0")
}

// tcpV4SendSynack is tcp_v4_send_synack() → tcp_make_synack() →
// ip_build_and_send_pkt().
func (n *Net) tcpV4SendSynack(k *kernel.Kernel, r *requestSock) {
	k.Call(fnTCPV4SendSynack)
	if r.retrans == 0 {
		r.sentAt = k.Now() // snt_synack
	}
	k.Call(fnTCPMakeSynack)
	opts := header.TCPOptions{MSS: uint16(r.mss), SACKPerm: r.sackOK, TS: r.tstampOK, WScale: r.wscale}
	if r.tstampOK {
		opts.TSVal, opts.TSEcr = tsNow(k)+r.tsOffset, r.tsRecent
		if r.cookie {
			opts.TSVal = cookieInitTimestamp(k, r) // the options the cookie cannot hold
		}
	}
	k.RetS(fnTCPMakeSynack, "skb")
	e := k.Call(fnIPBuildAndSendPkt)
	e.Note = fmt.Sprintf("[S.] seq %d ack %d win %d%s", r.isn, r.rcvIsn+1, min(r.rcvWnd, 65535), optNote(opts))
	// The SYN-ACK's MSS is what this side can receive.
	n.tcpSendControl(k, r.laddr, r.lport, r.raddr, r.rport, r.isn, r.rcvIsn+1, header.TCPSyn|header.TCPAck,
		uint16(min(r.rcvWnd, 65535)), header.AppendTCPOptions(nil, opts))
	k.RetS(fnIPBuildAndSendPkt, "0")
	k.RetS(fnTCPV4SendSynack, "0")
}

// tcpRcvForRequest is the TCP_NEW_SYN_RECV branch of tcp_v4_rcv:
// tcp_check_req validates the final ACK and creates the child
// (tcp_v4_syn_recv_sock), which goes on the accept queue; then
// tcp_child_process runs the ACK through the child.
func (n *Net) tcpRcvForRequest(k *kernel.Kernel, r *requestSock, s *skb.SKB, in *tcpRcvInfo) {
	l := r.listener
	e := k.Call(fnTCPCheckReq, s)
	if in.fl&header.TCPRst != 0 {
		e.Note = "RST: the request is dropped"
		n.reqskQueueDrop(k, r)
		core.KfreeSkbReason(k, s, dropTCPReset)
		k.RetS(fnTCPCheckReq, "NULL")
		return
	}
	if in.seq == r.rcvIsn && in.fl&(header.TCPRst|header.TCPSyn|header.TCPAck) == header.TCPSyn {
		// tcp_oow_rate_limited: at most one answer per tcp_invalid_ratelimit.
		if r.lastOOW != 0 && k.Now()-r.lastOOW < tcpInvalidRatelimit {
			e.Note = "the SYN again, within tcp_invalid_ratelimit of the last answer: ignored"
		} else {
			r.lastOOW = k.Now()
			e.Note = "the SYN again (our SYN-ACK was lost?): send the SYN-ACK again"
			if n.inetRtxSynAck(k, r) == 0 {
				k.ModTimer(&r.timer, k.Now()+r.timeout()) // mod_timer_pending
			}
		}
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetS(fnTCPCheckReq, "NULL")
		return
	}
	if in.fl&header.TCPAck == 0 || in.ack != r.isn+1 {
		e.Note = fmt.Sprintf("not the ACK of our SYN-ACK (ack %d, want %d): reset", in.ack, r.isn+1)
		n.tcpV4SendReset(k, s, in) // embryonic_reset
		n.reqskQueueDrop(k, r)
		core.KfreeSkbReason(k, s, dropTCPFlags)
		k.RetS(fnTCPCheckReq, "NULL")
		return
	}
	e.Note = "the final ACK of the handshake"
	child := n.tcpV4SynRecvSock(k, r)
	if child == nil {
		// listen_overflow: without tcp_abort_on_overflow the ACK is
		// ignored (req->acked); the SYN-ACK timer sends the SYN-ACK again
		// and the peer's next ACK may find room.
		e.Note = "the accept queue is full: the ACK is ignored, the request stays"
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetS(fnTCPCheckReq, "NULL")
		return
	}
	if r.retrans == 0 { // tcp_synack_rtt_meas: Karn, no sample from a retransmitted SYN-ACK
		n.tcpRttEstimator(k, child, k.Now()-r.sentAt)
	}
	n.inetCskCompleteHashdance(k, l, r, child)
	k.RetS(fnTCPCheckReq, child.name())
	k.Call(fnTCPChildProcess, s)
	n.tcpRcvStateProcess(k, child, s)
	k.RetS(fnTCPChildProcess, "0")
	// sk_data_ready on the listener wakes accept().
	l.stateChange(k)
}

// tcpV4SynRecvSock is tcp_v4_syn_recv_sock() → tcp_create_openreq_child:
// a full socket in SYN_RECV for the connection, which takes the
// request's place in the established hash (inet_ehash_nolisten); nil
// when the accept queue is over the backlog.
func (n *Net) tcpV4SynRecvSock(k *kernel.Kernel, r *requestSock) *tcpSock {
	l := r.listener
	e := k.Call(fnTCPV4SynRecvSock)
	if len(l.acceptQueue) > l.maxBacklog { // sk_acceptq_is_full
		e.Note = fmt.Sprintf("accept queue full (%d, backlog %d): LISTENOVERFLOWS", len(l.acceptQueue), l.maxBacklog)
		k.RetS(fnTCPV4SynRecvSock, "NULL")
		return nil
	}
	k.Call(fnTCPCreateOpenreq)
	sk := &socket.Sock{Family: socket.AFInet, Type: socket.SockStream, Protocol: header.ProtoTCP, TTL: -1,
		Saddr: r.laddr, Daddr: r.raddr, Num: r.lport, Dport: r.rport}
	n.nsk++
	sk.Name = fmt.Sprintf("%s.child%d", l.name(), n.nsk)
	sk.Wq.Name, sk.WqWrite.Name = sk.Name+" sk_wq", sk.Name+" sk_wq (writers)"
	c := n.newTCPSock(sk)
	// sk_clone_lock: the listener's buffer sizes (and SO_SNDBUF/SO_RCVBUF
	// locks) and priority carry over.
	sk.SndBuf, sk.RcvBuf, sk.SndBufLocked, sk.RcvBufLocked = l.sk.SndBuf, l.sk.RcvBuf, l.sk.SndBufLocked, l.sk.RcvBufLocked
	sk.Priority = l.sk.Priority
	c.nagleOff = l.nagleOff
	c.parent = l
	c.state = tcpSynRecv
	c.writeSeq, c.sndUna, c.sndNxt, c.pushedSeq = r.isn+1, r.isn+1, r.isn+1, r.isn+1
	c.rcvNxt, c.copiedSeq, c.rcvWup = r.rcvIsn+1, r.rcvIsn+1, r.rcvIsn+1
	c.sackOK, c.tstampOK = r.sackOK, r.tstampOK
	c.wsOK = r.wscale >= 0 && r.sndWscale >= 0
	if c.wsOK {
		c.rcvWscale, c.sndWscale = r.wscale, r.sndWscale
	}
	c.tsRecent, c.tsOffset, c.tsRecentStamp = r.tsRecent, r.tsOffset, k.Now()
	c.rcvWnd, c.rcvSsthresh, c.windowClamp = r.rcvWnd, r.rcvWnd, r.windowClamp
	if !c.wsOK {
		c.windowClamp = min(c.windowClamp, 65535)
	}
	c.advmss = r.mss
	c.mss = r.mss
	if c.tstampOK {
		c.mss -= 12
	}
	c.sk.IPID = uint16(n.K.Sim.Rand().Uint32())
	k.Event(trace.State, nil).Note = fmt.Sprintf("%s created in TCP_SYN_RECV for %s:%d", sk.Name, r.raddr, r.rport)
	k.RetS(fnTCPCreateOpenreq, sk.Name)
	n.tcpEstablished = append(n.tcpEstablished, c) // inet_ehash_nolisten
	n.tcpBound = append(n.tcpBound, c)
	k.RetS(fnTCPV4SynRecvSock, sk.Name)
	return c
}

// inetCskCompleteHashdance is inet_csk_complete_hashdance(), which
// tcp_check_req calls once syn_recv_sock made the child: the request
// leaves the listener's queue of request socks, its SYN-ACK timer
// stopped (inet_csk_reqsk_queue_drop), and the child joins the accept
// queue (inet_csk_reqsk_queue_add).
func (n *Net) inetCskCompleteHashdance(k *kernel.Kernel, l *tcpSock, r *requestSock, c *tcpSock) {
	k.Call(fnCompleteHashdance).Note = "the request sock is done: the child goes on the accept queue"
	n.tcpReqs[l] = slices.DeleteFunc(n.tcpReqs[l], func(x *requestSock) bool { return x == r })
	k.DelTimer(&r.timer)
	q := k.Event(trace.Dequeue, nil)
	q.Queue, q.QLen = l.sk.QueueName(reqQueueQ), len(n.tcpReqs[l])
	n.inetCskReqskQueueAdd(k, l, c)
	k.RetS(fnCompleteHashdance, c.name())
}

// inetCskReqskQueueAdd is inet_csk_reqsk_queue_add(): the child joins
// the listener's accept queue.
func (n *Net) inetCskReqskQueueAdd(k *kernel.Kernel, l, c *tcpSock) {
	k.Call(fnReqskQueueAdd)
	l.acceptQueue = append(l.acceptQueue, c)
	a := k.Event(trace.Enqueue, nil)
	a.Queue, a.QLen, a.Note = l.sk.QueueName(acceptQueueQ), len(l.acceptQueue), c.name()+" waits for accept()"
	k.RetVoid(fnReqskQueueAdd)
}

// tcpTimeWait is tcp_time_wait(): the socket is replaced by a small
// timewait sock that answers stray segments for TCP_TIMEWAIT_LEN (60 s)
// and then goes away (inet_twsk_kill).
func (n *Net) tcpTimeWait(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPTimeWait).Note = "TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN)"
	tp.setState(k, tcpTimeWait)
	tp.clearXmitTimer(k)
	k.DelTimer(&tp.delackTm)
	tp.twTimer = kernel.Timer{Name: "tw_timer_handler", Fn: func() {
		k.Call(fnInetTwskKill).Note = tp.name() + "'s time-wait sock is gone"
		n.tcpUnhash(tp)
		n.tcpBound = slices.DeleteFunc(n.tcpBound, func(x *tcpSock) bool { return x == tp })
		tp.state = tcpClose
		k.RetVoid(fnInetTwskKill)
	}}
	k.ModTimer(&tp.twTimer, k.Now()+tcpTimewaitLenNs)
	tp.stateChange(k)
	k.RetVoid(fnTCPTimeWait)
}

// tcpTimewaitStateProcess is tcp_timewait_state_process(): a
// retransmitted FIN gets its ACK again; anything else is dropped.
func (n *Net) tcpTimewaitStateProcess(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, in *tcpRcvInfo) {
	e := k.Call(fnTCPTwStateProcess, s)
	if in.fl&header.TCPFin != 0 {
		e.Note = "a retransmitted FIN: ACK it again (TCP_TW_ACK)"
		n.tcpSendControl(k, tp.sk.Saddr, tp.sk.Num, tp.sk.Daddr, tp.sk.Dport, tp.sndNxt, tp.rcvNxt, header.TCPAck, 0, nil)
	}
	core.ConsumeSkb(k, s)
	k.RetS(fnTCPTwStateProcess, "TCP_TW_SUCCESS")
}

var (
	fnReqskTimerHandler = kernel.NewFn("reqsk_timer_handler", inetConnSockC, "tcp")
	fnInetRtxSynAck     = kernel.NewFn("inet_rtx_syn_ack", inetConnSockC, "tcp")
	fnTCPRtxSynack      = kernel.NewFn("tcp_rtx_synack", tcpOutputC, "tcp")
	fnReqskQueueDrop    = kernel.NewFn("__inet_csk_reqsk_queue_drop", inetConnSockC, "tcp")
)

// timeout is reqsk_timeout(req, TCP_RTO_MAX): the SYN-ACK timer's
// interval, TCP_TIMEOUT_INIT doubled for each time it fired.
func (r *requestSock) timeout() int64 {
	return min(int64(tcpTimeoutInitNs)<<min(r.numTimeout, 20), tcpRTOMaxNs)
}

// reqskTimerHandler is reqsk_timer_handler(): no final ACK came within
// the timeout. Resend the SYN-ACK (inet_rtx_syn_ack) and wait twice as
// long, up to tcp_synack_retries (5) times, fewer for old requests when
// the queue is more than half full of them; then drop the request.
func (n *Net) reqskTimerHandler(k *kernel.Kernel, r *requestSock) {
	e := k.Call(fnReqskTimerHandler)
	defer k.RetVoid(fnReqskTimerHandler)
	l := r.listener
	if l.state != tcpListen {
		e.Note = "the listener is gone"
		n.reqskQueueDrop(k, r)
		return
	}
	maxRetries := tcpSynackRetries
	reqs := n.tcpReqs[l]
	if qlen := len(reqs); qlen<<1 > max(8, l.maxBacklog) {
		young := 0
		for _, x := range reqs {
			if x.numTimeout == 0 {
				young++
			}
		}
		for young <<= 1; maxRetries > 2 && qlen >= young; young <<= 1 {
			maxRetries--
		}
	}
	if r.numTimeout >= maxRetries { // syn_ack_recalc: expire
		e.Note = fmt.Sprintf("%d SYN-ACKs unanswered (tcp_synack_retries %d): the request is dropped", r.numTimeout+1, maxRetries)
		n.reqskQueueDrop(k, r)
		return
	}
	if n.inetRtxSynAck(k, r) != 0 {
		n.reqskQueueDrop(k, r)
		return
	}
	r.numTimeout++
	k.ModTimer(&r.timer, k.Now()+r.timeout())
	e.Note = fmt.Sprintf("no final ACK: SYN-ACK sent again (%d of %d), next try in %d s", r.numTimeout, maxRetries, r.timeout()/1_000_000_000)
}

// inetRtxSynAck is inet_rtx_syn_ack() → rsk_ops->rtx_syn_ack
// (tcp_rtx_synack) → tcp_v4_send_synack: the SYN-ACK again, counted in
// num_retrans.
func (n *Net) inetRtxSynAck(k *kernel.Kernel, r *requestSock) int {
	k.Call(fnInetRtxSynAck)
	k.Call(fnTCPRtxSynack)
	n.tcpV4SendSynack(k, r)
	k.RetS(fnTCPRtxSynack, "0")
	r.retrans++
	return int(kernel.Ret(k, fnInetRtxSynAck, kernel.Err(0)))
}

// reqskQueueDrop is __inet_csk_reqsk_queue_drop(): the request leaves
// the established hash and the listener's queue, its timer stopped.
func (n *Net) reqskQueueDrop(k *kernel.Kernel, r *requestSock) {
	k.Call(fnReqskQueueDrop)
	l := r.listener
	n.tcpReqs[l] = slices.DeleteFunc(n.tcpReqs[l], func(x *requestSock) bool { return x == r })
	k.DelTimer(&r.timer)
	q := k.Event(trace.Dequeue, nil)
	q.Queue, q.QLen, q.Note = l.sk.QueueName(reqQueueQ), len(n.tcpReqs[l]), "request dropped"
	k.RetS(fnReqskQueueDrop, "true")
}
