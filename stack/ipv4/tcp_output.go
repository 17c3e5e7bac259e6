package ipv4

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const tcpOutputC = "net/ipv4/tcp_output.c"

var (
	fnTCPConnect            = kernel.NewFn("tcp_connect", tcpOutputC, "tcp")
	fnTCPConnectInit        = kernel.NewFn("tcp_connect_init", tcpOutputC, "tcp")
	fnTCPSelectInitialWin   = kernel.NewFn("tcp_select_initial_window", tcpOutputC, "tcp")
	fnTCPConnectQueueSkb    = kernel.NewFn("tcp_connect_queue_skb", tcpOutputC, "tcp")
	fnTCPTransmitSkb        = kernel.NewFn("tcp_transmit_skb", tcpOutputC, "tcp")
	fnTCPTransmitSkbIn      = kernel.NewFn("__tcp_transmit_skb", tcpOutputC, "tcp")
	fnTCPV4SendCheck        = kernel.NewFn("tcp_v4_send_check", "net/ipv4/tcp_ipv4.c", "tcp")
	fnIPQueueXmit           = kernel.NewFn("__ip_queue_xmit", ipOutputC, "ip")
	fnTCPPushPending        = kernel.NewFn("__tcp_push_pending_frames", tcpOutputC, "tcp")
	fnTCPWriteXmit          = kernel.NewFn("tcp_write_xmit", tcpOutputC, "tcp")
	fnTCPEventNewData       = kernel.NewFn("tcp_event_new_data_sent", tcpOutputC, "tcp")
	fnTCPSendAck            = kernel.NewFn("tcp_send_ack", tcpOutputC, "tcp")
	fnTCPSendDelayedAck     = kernel.NewFn("tcp_send_delayed_ack", tcpOutputC, "tcp")
	fnTCPSendFin            = kernel.NewFn("tcp_send_fin", tcpOutputC, "tcp")
	fnTCPSendActiveReset    = kernel.NewFn("tcp_send_active_reset", tcpOutputC, "tcp")
	fnInetCskResetXmitTmr   = kernel.NewFn("inet_csk_reset_xmit_timer", "include/net/inet_connection_sock.h", "tcp")
	fnTCPRetransmitSkb      = kernel.NewFn("__tcp_retransmit_skb", tcpOutputC, "tcp")
	fnTCPRetransmitSkbOuter = kernel.NewFn("tcp_retransmit_skb", "net/ipv4/tcp_output.c", "tcp")
	rtxQueueName            = "tcp_rtx_queue"
)

// tcpFlagString names TCP flags as tcpdump does.
func tcpFlagString(f uint8) string {
	s := ""
	for _, x := range []struct {
		bit uint8
		c   string
	}{{header.TCPSyn, "S"}, {header.TCPFin, "F"}, {header.TCPRst, "R"}, {header.TCPPsh, "P"}, {header.TCPAck, "."}} {
		if f&x.bit != 0 {
			s += x.c
		}
	}
	return "[" + s + "]"
}

// tsNow is tcp_time_stamp_ts: the millisecond clock TCP timestamps use.
func tsNow(k *kernel.Kernel) uint32 { return uint32(k.Now() / 1_000_000) }

// selectInitialWindow is tcp_select_initial_window(): the window of the
// SYN (at most 65535, rounded down to whole segments of mss) and the
// window scale that lets the window grow to tcp_rmem[2].
func selectInitialWindow(k *kernel.Kernel, space, mss int) (wnd uint32, wscale int) {
	e := k.Call(fnTCPSelectInitialWin)
	space = min(space, 65535)
	if space > mss {
		space = space / mss * mss
	}
	for wscale = 0; (tcpRmemMax>>wscale) > 65535 && wscale < tcpMaxWscale; wscale++ {
	}
	e.Note = fmt.Sprintf("rcv_wnd %d (whole segments of %d), rcv_wscale %d for tcp_rmem[2] %d", space, mss, wscale, tcpRmemMax)
	kernel.Ret(k, fnTCPSelectInitialWin, kernel.Err(0))
	return uint32(space), wscale
}

// tcpConnect is tcp_connect(): tcp_connect_init, a SYN skb on the write
// queue, sent with tcp_transmit_skb, then the retransmit timer.
func (n *Net) tcpConnect(k *kernel.Kernel, tp *tcpSock, mtu int) int {
	k.Call(fnTCPConnect)
	k.Call(fnTCPConnectInit)
	tp.advmss = mtu - header.IPv4MinLen - header.TCPMinLen
	tp.mss = tp.advmss
	tp.rcvWnd, tp.rcvWscale = selectInitialWindow(k, tp.sk.RcvBuf/2, tp.advmss)
	tp.sndUna, tp.sndNxt = tp.writeSeq, tp.writeSeq
	tp.rcvNxt, tp.copiedSeq = 0, 0
	k.RetVoid(fnTCPConnectInit)
	s := n.tcpStreamAllocSkb(k, tp, 0)
	s.TCPSkbCB().Set(tp.writeSeq, tp.writeSeq+1, header.TCPSyn)
	k.Call(fnTCPConnectQueueSkb, s)
	tp.writeSeq++
	k.RetVoid(fnTCPConnectQueueSkb)
	tp.sndNxt = tp.writeSeq
	tp.rtxQueue = append(tp.rtxQueue, s)
	k.Enqueue(tp.sk.QueueName(rtxQueueName), len(tp.rtxQueue), s).Note = "the SYN waits here until it is acknowledged"
	n.tcpTransmitSkb(k, tp, s, true)
	n.resetXmitTimer(k, tp)
	return int(kernel.Ret(k, fnTCPConnect, kernel.Err(0)))
}

// resetXmitTimer is inet_csk_reset_xmit_timer(ICSK_TIME_RETRANS, rto).
func (n *Net) resetXmitTimer(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnInetCskResetXmitTmr).Note = fmt.Sprintf("retransmit timer in %.0f ms (rto)", float64(tp.rto)/1e6)
	k.ModTimer(&tp.retransmitTimer, k.Now()+tp.rto)
	k.RetVoid(fnInetCskResetXmitTmr)
}

// tcpTransmitSkb is tcp_transmit_skb() → __tcp_transmit_skb(): clone the
// skb (the original stays queued for retransmission), push the TCP header
// with its options, set up the checksum for the NIC (tcp_v4_send_check)
// and pass it to IP (ip_queue_xmit).
func (n *Net) tcpTransmitSkb(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, cloneIt bool) int {
	k.Call(fnTCPTransmitSkb, s)
	return int(kernel.Ret(k, fnTCPTransmitSkb, kernel.Err(n.tcpTransmitSkbInner(k, tp, s, cloneIt))))
}

// tcpTransmitSkbInner is __tcp_transmit_skb(), which tcp_send_ack calls
// directly.
func (n *Net) tcpTransmitSkbInner(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, cloneIt bool) int {
	e := k.Call(fnTCPTransmitSkbIn, s)
	s.MstampNs = k.Now()
	if cloneIt {
		s = core.SkbClone(k, s)
	}
	cb := s.TCPSkbCB()
	flags := cb.Flags()
	opts := header.TCPOptions{WScale: -1}
	if flags&header.TCPSyn != 0 {
		opts.MSS = uint16(tp.advmss)
		opts.TS, opts.SACKPerm, opts.WScale = true, true, tp.rcvWscale
		if flags&header.TCPAck != 0 { // a SYN-ACK carries what was agreed
			opts.TS, opts.SACKPerm = tp.tstampOK, tp.sackOK
			if !tp.wsOK {
				opts.WScale = -1
			}
		}
	} else {
		opts.TS = tp.tstampOK
		if tp.sackOK && len(tp.sacks) > 0 {
			opts.SACK = tp.sacks
		}
	}
	if opts.TS {
		opts.TSVal, opts.TSEcr = tsNow(k)+tp.tsOffset, tp.tsRecent
	}
	optb := header.AppendTCPOptions(nil, opts)
	hlen := header.TCPMinLen + len(optb)
	h, err := s.Push(hlen)
	if err != nil {
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return int(kernel.Ret(k, fnTCPTransmitSkbIn, kernel.Err(-kernel.ENOBUFS)))
	}
	s.ResetTransportHeader()
	ack := uint32(0)
	if flags&header.TCPAck != 0 {
		ack = tp.rcvNxt
	}
	win := tp.selectWindow(flags)
	th := header.TCP(h)
	th.Encode(tp.sk.Num, tp.sk.Dport, cb.Seq(), ack, hlen, flags, win)
	copy(h[header.TCPMinLen:], optb)
	e.Note = fmt.Sprintf("%s seq %d ack %d win %d, %d bytes of data%s", tcpFlagString(flags), cb.Seq(), ack, win, s.Len()-hlen, optNote(opts))
	if flags&header.TCPAck != 0 {
		tp.eventAckSent(k)
	}
	n.tcpV4SendCheck(k, tp, s)
	s.Priority = tp.sk.Priority
	// The clone is charged to the socket while it is in flight (tcp_wfree).
	return int(kernel.Ret(k, fnTCPTransmitSkbIn, kernel.Err(n.ipQueueXmit(k, tp, s))))
}

func optNote(o header.TCPOptions) string {
	s := ""
	if o.MSS != 0 {
		s += fmt.Sprintf(", mss %d", o.MSS)
	}
	if o.SACKPerm {
		s += ", sackOK"
	}
	if o.TS {
		s += fmt.Sprintf(", TS val %d ecr %d", o.TSVal, o.TSEcr)
	}
	if o.WScale >= 0 {
		s += fmt.Sprintf(", wscale %d", o.WScale)
	}
	return s
}

// selectWindow is tcp_select_window(): the receive window to advertise,
// scaled; a SYN's window is never scaled.
func (tp *tcpSock) selectWindow(flags uint8) uint16 {
	free := uint32(max(tp.sk.RcvBuf/2-tp.sk.RmemAlloc, 0))
	wnd := max(tp.rcvWnd, free)
	if flags&header.TCPSyn != 0 {
		return uint16(min(tp.rcvWnd, 65535))
	}
	tp.rcvWnd = wnd
	tp.rcvWup = tp.rcvNxt
	return uint16(min(wnd>>tp.rcvWscale, 65535))
}

// eventAckSent is tcp_event_ack_sent(): an ACK went out, so no delayed
// ACK is owed any more.
func (tp *tcpSock) eventAckSent(k *kernel.Kernel) {
	tp.ackPending = false
	if tp.quick > 0 {
		tp.quick-- // tcp_dec_quickack_mode
	}
	if tp.delackTm.Pending() {
		k.DelTimer(&tp.delackTm)
	}
}

// tcpV4SendCheck is tcp_v4_send_check(): store the pseudo-header sum in
// the checksum field and leave the rest to the NIC (CHECKSUM_PARTIAL).
func (n *Net) tcpV4SendCheck(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	e := k.Call(fnTCPV4SendCheck, s)
	th := header.TCP(s.Data())
	s.IPSummed = skb.ChecksumPartial
	s.CsumStart, s.CsumOff = s.TransportHeader, 16
	th.SetChecksum(header.Fold(header.PseudoSum(tp.sk.Saddr, tp.sk.Daddr, header.ProtoTCP, s.Len())))
	e.Note = fmt.Sprintf("pseudo-header sum 0x%04x; CHECKSUM_PARTIAL, csum_start %d", th.Checksum(), s.CsumStart)
	k.RetVoid(fnTCPV4SendCheck)
}

// ipQueueXmit is ip_queue_xmit() → __ip_queue_xmit(): the socket's route,
// the IPv4 header (DF set: TCP does path MTU discovery), ip_local_out.
func (n *Net) ipQueueXmit(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) int {
	k.Call(fnIPQueueXmit, s)
	fl := &Flowi4{Saddr: tp.sk.Saddr, Daddr: tp.sk.Daddr, Proto: header.ProtoTCP}
	rt, err := n.ipRouteOutputFlow(k, fl)
	if err < 0 {
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return int(kernel.Ret(k, fnIPQueueXmit, kernel.Err(err)))
	}
	h, perr := s.Push(header.IPv4MinLen)
	if perr != nil {
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return int(kernel.Ret(k, fnIPQueueXmit, kernel.Err(-kernel.ENOBUFS)))
	}
	s.ResetNetworkHeader()
	tp.sk.IPID++
	header.IPv4(h).Encode(tp.sk.TOS, tp.sk.IPID, header.IPv4DF, uint8(n.DefaultTTL), header.ProtoTCP, fl.Saddr, fl.Daddr)
	s.Protocol = header.EtherTypeIPv4
	s.Dst = rt
	s.Sk = tp.name()
	err = n.ipLocalOut(k, s)
	if err > 0 {
		err = netXmitErrno(core.NetXmit(err))
	}
	return int(kernel.Ret(k, fnIPQueueXmit, kernel.Err(err)))
}

// tcpPushPendingFrames is __tcp_push_pending_frames() → tcp_write_xmit().
func (n *Net) tcpPushPendingFrames(k *kernel.Kernel, tp *tcpSock) {
	if len(tp.writeQueue) == 0 {
		return
	}
	k.Call(fnTCPPushPending)
	n.tcpWriteXmit(k, tp)
	k.RetVoid(fnTCPPushPending)
}

// tcpWriteXmit is tcp_write_xmit(): send queued skbs while the congestion
// window (tcp_cwnd_test) and the peer's window (tcp_snd_wnd_test) allow
// and Nagle does not hold a small segment back.
func (n *Net) tcpWriteXmit(k *kernel.Kernel, tp *tcpSock) bool {
	e := k.Call(fnTCPWriteXmit)
	sent := 0
	for len(tp.writeQueue) > 0 {
		s := tp.writeQueue[0]
		cb := s.TCPSkbCB()
		inFlight := tp.packetsInFlight()
		if inFlight >= tp.cwnd {
			e.Note = fmt.Sprintf("tcp_cwnd_test: %d segments in flight, cwnd %d: wait for ACKs", inFlight, tp.cwnd)
			tp.isCwndLimited = true
			break
		}
		if cb.EndSeq()-tp.sndUna > tp.sndWnd && cb.EndSeq() != cb.Seq() {
			e.Note = fmt.Sprintf("tcp_snd_wnd_test: the peer's window (%d) is full", tp.sndWnd)
			break
		}
		small := s.Len() < tp.mss && cb.Flags()&header.TCPFin == 0 && len(tp.writeQueue) == 1
		if small && tp.corked {
			e.Note = "tcp_nagle_test: corked by MSG_MORE: the partial segment waits"
			break
		}
		// Nagle, as Minshall refined it: hold a small segment only while
		// an earlier small one is unacknowledged.
		if small && !tp.nagleOff && inFlight > 0 && int32(tp.sndSml-tp.sndUna) > 0 {
			e.Note = "tcp_nagle_test: a small segment while an earlier small one is unacknowledged: hold it (Nagle, Minshall)"
			break
		}
		tp.writeQueue = tp.writeQueue[1:]
		k.Dequeue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), s)
		if n.tcpTransmitSkb(k, tp, s, true) < 0 {
			tp.writeQueue = append([]*skb.SKB{s}, tp.writeQueue...)
			break
		}
		if s.Len() < tp.mss {
			tp.sndSml = s.TCPSkbCB().EndSeq() // tcp_minshall_update
		}
		n.tcpEventNewDataSent(k, tp, s)
		sent++
	}
	// tcp_cwnd_validate: remember how much the window was really used,
	// so that cwnd only grows when it is what limits the sender.
	tp.maxPacketsOut = max(tp.maxPacketsOut, tp.packetsInFlight())
	if len(tp.writeQueue) == 0 || tp.packetsInFlight() < tp.cwnd {
		tp.isCwndLimited = false
	}
	return kernel.Ret(k, fnTCPWriteXmit, sent == 0 && len(tp.writeQueue) > 0)
}

// tcpEventNewDataSent is tcp_event_new_data_sent(): advance snd_nxt, move
// the skb to the retransmit queue, and arm the retransmit timer if it is
// not running.
func (n *Net) tcpEventNewDataSent(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	e := k.Call(fnTCPEventNewData, s)
	// tcp_event_data_sent: a reply within ato of the last data received
	// makes the connection interactive (ping-pong): ACKs then wait to
	// ride on the next reply.
	if tp.lrcvtime != 0 && k.Now()-tp.lrcvtime < tp.ato && !tp.pingpong {
		tp.pingpong = true
		e.Note = "a reply within ato of the last data received: ping-pong mode"
	}
	tp.sndNxt = s.TCPSkbCB().EndSeq()
	tp.rtxQueue = append(tp.rtxQueue, s)
	k.Enqueue(tp.sk.QueueName(rtxQueueName), len(tp.rtxQueue), s).Note = "kept until acknowledged"
	if !tp.retransmitTimer.Pending() {
		n.resetXmitTimer(k, tp)
	}
	k.RetVoid(fnTCPEventNewData)
}

// tcpSendAck is tcp_send_ack() → __tcp_send_ack(): a bare ACK in a
// fresh skb, not queued, handed straight to __tcp_transmit_skb.
func (n *Net) tcpSendAck(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPSendAck)
	k.Call(fnTCPSendAckIn)
	s := core.AllocSkb(k, maxTCPHeader)
	_ = s.Reserve(maxTCPHeader)
	s.TCPSkbCB().Set(tp.sndNxt, tp.sndNxt, header.TCPAck)
	n.tcpTransmitSkbInner(k, tp, s, false)
	k.RetVoid(fnTCPSendAckIn)
	k.RetVoid(fnTCPSendAck)
}

var fnTCPSendAckIn = kernel.NewFn("__tcp_send_ack", tcpOutputC, "tcp")

// tcpSendDelayedAck is tcp_send_delayed_ack(): owe an ACK, sent by the
// delayed-ACK timer within ato (40 ms to start with) unless data going
// the other way takes it along first.
func (n *Net) tcpSendDelayedAck(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPSendDelayedAck).Note = fmt.Sprintf("ACK delayed by up to %d ms (ato)", tp.ato/1_000_000)
	tp.ackPending = true
	if !tp.delackTm.Pending() {
		k.ModTimer(&tp.delackTm, k.Now()+tp.ato)
	}
	k.RetVoid(fnTCPSendDelayedAck)
}

// tcpSendFin is tcp_send_fin(): FIN rides on the last queued skb if it
// has not been sent, else goes in a new one.
func (n *Net) tcpSendFin(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPSendFin)
	if l := len(tp.writeQueue); l > 0 {
		cb := tp.writeQueue[l-1].TCPSkbCB()
		cb.Set(cb.Seq(), cb.EndSeq()+1, cb.Flags()|header.TCPFin)
	} else {
		s := n.tcpStreamAllocSkb(k, tp, 0)
		s.TCPSkbCB().Set(tp.writeSeq, tp.writeSeq+1, header.TCPFin|header.TCPAck)
		tp.writeQueue = append(tp.writeQueue, s)
		k.Enqueue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), s)
	}
	tp.writeSeq++
	tp.finSent = true
	n.tcpPushPendingFrames(k, tp)
	k.RetVoid(fnTCPSendFin)
}

// tcpSendActiveReset is tcp_send_active_reset(): RST|ACK at snd_nxt,
// for an abort.
func (n *Net) tcpSendActiveReset(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPSendActiveReset)
	s := core.AllocSkb(k, maxTCPHeader)
	_ = s.Reserve(maxTCPHeader)
	s.TCPSkbCB().Set(tp.sndNxt, tp.sndNxt, header.TCPRst|header.TCPAck)
	n.tcpTransmitSkb(k, tp, s, false)
	k.RetVoid(fnTCPSendActiveReset)
}

// tcpRetransmitSkb is tcp_retransmit_skb(): __tcp_retransmit_skb, then
// the accounting of a retransmission that went out (TCPCB_RETRANS,
// retrans_out).
func (n *Net) tcpRetransmitSkb(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	k.Call(fnTCPRetransmitSkbOuter, s)
	n.tcpRetransmitSkbInner(k, tp, s)
	cb := s.TCPSkbCB()
	if cb.Sacked()&skb.TCPCBSackedRetrans == 0 {
		tp.retransOut++
	}
	cb.SetSacked(cb.Sacked() | skb.TCPCBSackedRetrans | skb.TCPCBEverRetrans)
	k.RetS(fnTCPRetransmitSkbOuter, "0")
}

// tcpRetransmitSkbInner is __tcp_retransmit_skb(): send the first
// unacknowledged skb again (a clone, as the first time).
func (n *Net) tcpRetransmitSkbInner(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	k.Call(fnTCPRetransmitSkb, s)
	n.tcpTransmitSkb(k, tp, s, true)
	k.RetS(fnTCPRetransmitSkb, "0")
}
