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

// selectInitialWindow is tcp_select_initial_window(): the first window
// (the free space, rounded down to whole segments of mss; a SYN says at
// most 65535 of it), the window scale that lets the window grow to
// tcp_rmem[2], and the window clamp: nobody set one, so the largest
// window the scale can express.
func selectInitialWindow(k *kernel.Kernel, space, mss int) (wnd uint32, wscale int, clamp uint32) {
	e := k.Call(fnTCPSelectInitialWin)
	space = max(space, 0)
	if space > mss {
		space = space / mss * mss
	}
	for wscale = 0; (tcpRmemMax>>wscale) > 65535 && wscale < tcpMaxWscale; wscale++ {
	}
	clamp = 65535 << wscale
	e.Note = fmt.Sprintf("rcv_wnd %d (whole segments of %d), rcv_wscale %d for tcp_rmem[2] %d, window_clamp %d", space, mss, wscale, tcpRmemMax, clamp)
	kernel.Ret(k, fnTCPSelectInitialWin, kernel.Err(0))
	return uint32(space), wscale, clamp
}

// tcpConnect is tcp_connect(): tcp_connect_init, a SYN skb on the write
// queue, sent with tcp_transmit_skb, then the retransmit timer.
func (n *Net) tcpConnect(k *kernel.Kernel, tp *tcpSock, mtu int) int {
	k.Call(fnTCPConnect)
	k.Call(fnTCPConnectInit)
	tp.advmss = mtu - header.IPv4MinLen - header.TCPMinLen
	tp.mss = tp.advmss
	tp.rcvWnd, tp.rcvWscale, tp.windowClamp = selectInitialWindow(k, tcpFullSpace(tp), tp.advmss)
	tp.rcvSsthresh = tp.rcvWnd
	tp.sndUna, tp.sndNxt, tp.pushedSeq = tp.writeSeq, tp.writeSeq, tp.writeSeq
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
	n.resetTimer(k, tp, icskTimeRetrans, tp.rto)
}

// resetTimer is inet_csk_reset_xmit_timer(): arm the retransmit timer
// for what (RTO, zero-window probe, loss probe) in when ns.
func (n *Net) resetTimer(k *kernel.Kernel, tp *tcpSock, what icskTimer, when int64) {
	name := map[icskTimer]string{icskTimeRetrans: "ICSK_TIME_RETRANS", icskTimeProbe0: "ICSK_TIME_PROBE0",
		icskTimeLossProbe: "ICSK_TIME_LOSS_PROBE", icskTimeReoTimeout: "ICSK_TIME_REO_TIMEOUT"}[what]
	k.Call(fnInetCskResetXmitTmr).Note = fmt.Sprintf("%s in %.0f ms", name, float64(when)/1e6)
	tp.icskPending = what
	k.ModTimer(&tp.retransmitTimer, k.Now()+when)
	k.RetVoid(fnInetCskResetXmitTmr)
}

// clearXmitTimer is inet_csk_clear_xmit_timer(): nothing is pending.
func (tp *tcpSock) clearXmitTimer(k *kernel.Kernel) {
	tp.icskPending = 0
	k.DelTimer(&tp.retransmitTimer)
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
	tp.wstamp = k.Now()
	if cloneIt {
		s = core.SkbClone(k, s)
		// skb_set_owner_w with tcp_wfree: the clone counts in
		// sk_wmem_alloc until the driver frees it (TSQ).
		tp.wmemAlloc += s.Truesize
		s.Destructor = func(s *skb.SKB) { n.tcpWfree(k, tp, s) }
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
// scaled; a SYN's window is never scaled. The offered window never
// shrinks: its right edge (rcv_wup + rcv_wnd) only moves right, so with
// a reader that does not read the window closes as data arrives, down to
// zero.
func (tp *tcpSock) selectWindow(flags uint8) uint16 {
	if flags&header.TCPSyn != 0 {
		return uint16(min(tp.rcvWnd, 65535))
	}
	cur := tp.receiveWindow()
	wnd := tp.selectWindowNow()
	if wnd < cur { // never shrink the offered window
		wnd = alignUp(cur, 1<<tp.rcvWscale)
	}
	tp.rcvWnd = wnd
	tp.rcvWup = tp.rcvNxt
	return uint16(min(wnd, 65535<<tp.rcvWscale) >> tp.rcvWscale)
}

// receiveWindow is tcp_receive_window(): what is left of the window we
// last offered.
func (tp *tcpSock) receiveWindow() uint32 {
	return uint32(max(int32(tp.rcvWup+tp.rcvWnd-tp.rcvNxt), 0))
}

func alignUp(x, a uint32) uint32 { return (x + a - 1) / a * a }

// tcpScalingRatio is TCP_DEFAULT_SCALING_RATIO in units of 1/256: the
// share of buffer memory (truesize) that is payload. 6.12 starts every
// socket at half and later learns the ratio from the skbs it receives
// (tcp_measure_rcv_mss); the model keeps the default, which suits its
// receive skbs: a full-sized 1448-byte segment sits in a 2048-byte
// kmalloc head, truesize 2304, so payload is a little over half.
const tcpScalingRatio = 128

// winFromSpace is tcp_win_from_space(): how much window space bytes of
// buffer memory are worth.
func winFromSpace(space int) int { return space * tcpScalingRatio >> 8 }

// spaceFromWin is tcp_space_from_win(): the buffer a window needs.
func spaceFromWin(win int) int { return win << 8 / tcpScalingRatio }

// tcpSpace is tcp_space(): the window the free receive buffer is worth.
func tcpSpace(tp *tcpSock) int { return winFromSpace(tp.sk.RcvBuf - tp.sk.RmemAlloc) }

// tcpFullSpace is tcp_full_space(): the window the whole buffer is worth.
func tcpFullSpace(tp *tcpSock) int { return winFromSpace(tp.sk.RcvBuf) }

// selectWindowNow is __tcp_select_window(): the window to offer, the
// free receive buffer's worth (tcp_space) but no more than rcv_ssthresh,
// which tcp_grow_window opens segment by segment, and window_clamp.
// Once less than half of it is free, a window smaller than one segment
// or 1/16 of the buffer is offered as zero (receiver-side silly window
// avoidance), and quick-ack mode ends. The peer's MSS (icsk_ack.rcv_mss)
// is taken to be ours (mss_cache).
func (tp *tcpSock) selectWindowNow() uint32 {
	mss := tp.mss
	free := tcpSpace(tp)
	allowed := tcpFullSpace(tp)
	full := min(int(tp.windowClamp), allowed)
	if mss > full {
		if mss = full; mss <= 0 {
			return 0
		}
	}
	if free < full>>1 {
		tp.quick = 0
		free = free >> tp.rcvWscale << tp.rcvWscale
		if free < allowed>>4 || free < mss {
			return 0
		}
	}
	free = min(free, int(tp.rcvSsthresh))
	if tp.rcvWscale > 0 {
		return alignUp(uint32(free), 1<<tp.rcvWscale)
	}
	w := int(tp.rcvWnd)
	if w <= free-mss || w > free {
		w = free / mss * mss
	} else if mss == full && free > w+full>>1 {
		w = free
	}
	return uint32(w)
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
	// ip_select_ident_segs: a GSO skb takes one IP ID per segment.
	tp.sk.IPID++
	id := tp.sk.IPID
	tp.sk.IPID += uint16(pcount(s) - 1)
	header.IPv4(h).Encode(tp.sk.TOS, id, header.IPv4DF, uint8(n.DefaultTTL), header.ProtoTCP, fl.Saddr, fl.Daddr)
	s.Protocol = header.EtherTypeIPv4
	s.Dst = rt
	s.Sk = tp.name()
	err = n.ipLocalOut(k, s)
	if err > 0 {
		err = netXmitErrno(core.NetXmit(err))
	}
	return int(kernel.Ret(k, fnIPQueueXmit, kernel.Err(err)))
}

// tcpPushPendingFrames is __tcp_push_pending_frames() → tcp_write_xmit():
// if nothing could be sent with nothing in flight (the peer's window is
// closed), no ACK will come to restart sending: tcp_check_probe_timer.
func (n *Net) tcpPushPendingFrames(k *kernel.Kernel, tp *tcpSock) {
	if len(tp.writeQueue) == 0 {
		return
	}
	k.Call(fnTCPPushPending)
	if n.tcpWriteXmit(k, tp) {
		n.tcpCheckProbeTimer(k, tp)
	}
	k.RetVoid(fnTCPPushPending)
}

// tcpWriteXmit is tcp_write_xmit(): send queued skbs while the congestion
// window (tcp_cwnd_test) and the peer's window (tcp_snd_wnd_test) allow
// and Nagle does not hold a small segment back. A GSO skb is sent whole
// when the windows have room for all its segments; otherwise
// tso_fragment cuts off what fits (tcp_mss_split_point) and the rest
// waits, unless tcp_tso_should_defer prefers to wait for the next ACK
// and send a fuller skb then. tcp_grow_skb (merging the next skb in) is
// not modelled.
func (n *Net) tcpWriteXmit(k *kernel.Kernel, tp *tcpSock) bool {
	e := k.Call(fnTCPWriteXmit)
	sent := 0
	isCwndLimited := false
	mss := tp.mss
	maxSegs := tp.tsoSegs(mss)
	for len(tp.writeQueue) > 0 {
		s := tp.writeQueue[0]
		cb := s.TCPSkbCB()
		tsoSegs := tp.setSkbTSOSegs(s, mss)
		inFlight := tp.packetsInFlight()
		var quota uint32
		switch {
		case inFlight < tp.cwnd:
			// tcp_cwnd_test's quota: never more than half the window at once.
			quota = min(max(tp.cwnd>>1, 1), tp.cwnd-inFlight, uint32(maxSegs))
		case tp.pushOne == 2:
			quota = 1 // a loss probe goes whatever cwnd says
		default:
			e.Note = fmt.Sprintf("tcp_cwnd_test: %d segments in flight, cwnd %d: wait for ACKs", inFlight, tp.cwnd)
		}
		if quota == 0 {
			break
		}
		first := cb.EndSeq()
		if s.Len() > mss {
			first = cb.Seq() + uint32(mss)
		}
		if first-tp.sndUna > tp.sndWnd && cb.EndSeq() != cb.Seq() {
			e.Note = fmt.Sprintf("tcp_snd_wnd_test: the peer's window (%d) is full", tp.sndWnd)
			break
		}
		if tsoSegs == 1 {
			small := s.Len() < mss && cb.Flags()&header.TCPFin == 0 && len(tp.writeQueue) == 1
			if small && tp.corked {
				e.Note = "tcp_nagle_test: corked by MSG_MORE: the partial segment waits"
				break
			}
			// Nagle, as Minshall refined it: hold a small segment only while
			// an earlier small one is unacknowledged.
			if small && tp.nagleHolds(inFlight) {
				e.Note = "tcp_nagle_test: a small segment while an earlier small one is unacknowledged: hold it (Nagle, Minshall)"
				break
			}
		} else {
			if why, cwndLimited := tp.tsoShouldDefer(k, s, inFlight, maxSegs); why != "" && tp.pushOne == 0 {
				e.Note = "tcp_tso_should_defer: " + why
				isCwndLimited = isCwndLimited || cwndLimited
				break
			}
			if limit := tp.mssSplitPoint(s, mss, int(quota), inFlight); s.Len() > limit {
				n.tsoFragment(k, tp, s, limit, mss)
			}
		}
		if n.tcpSmallQueueCheck(k, tp, s, 0) {
			e.Note = "TSQ: enough of this socket's data waits in the qdisc and the driver: wait for a TX completion"
			break
		}
		tp.writeQueue = tp.writeQueue[1:]
		k.Dequeue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), s)
		if n.tcpTransmitSkb(k, tp, s, true) < 0 {
			tp.writeQueue = append([]*skb.SKB{s}, tp.writeQueue...)
			break
		}
		if s.Len() < mss {
			tp.sndSml = s.TCPSkbCB().EndSeq() // tcp_minshall_update
		}
		n.tcpEventNewDataSent(k, tp, s)
		sent += pcount(s)
		if tp.pushOne != 0 {
			break
		}
	}
	isCwndLimited = isCwndLimited || tp.packetsInFlight() >= tp.cwnd
	if sent > 0 || isCwndLimited {
		n.tcpCwndValidate(k, tp, isCwndLimited)
	}
	if sent > 0 {
		if tp.inCwndReduction() {
			tp.prrOut += sent
		}
		if tp.pushOne != 2 { // one loss probe per tail loss episode
			n.tcpScheduleLossProbe(k, tp, false)
		}
	}
	return kernel.Ret(k, fnTCPWriteXmit, sent == 0 && tp.packetsOut() == 0 && len(tp.writeQueue) > 0)
}

var fnTCPCwndAppLimited = kernel.NewFn("tcp_cwnd_application_limited", tcpOutputC, "tcp")

// tcpCwndValidate is tcp_cwnd_validate() (RFC 7661): per window of data
// (until snd_una passes cwnd_usage_seq) remember whether cwnd limited
// the sender, or else the most packets out, so that tcp_cong_avoid grows
// only a window in use. A sender idle or application-limited for an RTO
// has its unused cwnd decayed (tcp_cwnd_application_limited).
func (n *Net) tcpCwndValidate(k *kernel.Kernel, tp *tcpSock, isCwndLimited bool) {
	out := tp.packetsOut()
	if int32(tp.sndUna-tp.cwndUsageSeq) >= 0 || isCwndLimited || !tp.isCwndLimited && out > tp.maxPacketsOut {
		tp.isCwndLimited = isCwndLimited
		tp.maxPacketsOut = out
		tp.cwndUsageSeq = tp.sndNxt
	}
	if tp.cwndLimited() {
		tp.sndCwndUsed = 0
		tp.sndCwndStamp = k.Now()
		return
	}
	tp.sndCwndUsed = max(tp.sndCwndUsed, out)
	if k.Now()-tp.sndCwndStamp >= tp.rto { // tcp_slow_start_after_idle
		n.tcpCwndApplicationLimited(k, tp)
	}
}

// tcpCwndApplicationLimited is tcp_cwnd_application_limited(): the
// application (or the receiver's window), not cwnd, limited the sender
// for an RTO: cwnd falls halfway to what was used (at least the initial
// window), ssthresh keeping the memory of the old cwnd.
func (n *Net) tcpCwndApplicationLimited(k *kernel.Kernel, tp *tcpSock) {
	if tp.ca == caOpen && !tp.noSpace {
		used := max(tp.sndCwndUsed, tcpInitCwnd)
		if used < tp.cwnd {
			e := k.Call(fnTCPCwndAppLimited)
			old := tp.cwnd
			tp.ssthresh = max(tp.ssthresh, tp.cwnd>>1+tp.cwnd>>2) // tcp_current_ssthresh
			tp.cwnd = (tp.cwnd + used) >> 1
			e.Note = fmt.Sprintf("at most %d of cwnd %d used for an RTO: cwnd %d → %d, ssthresh %d", used, old, old, tp.cwnd, tp.ssthresh)
			k.RetVoid(fnTCPCwndAppLimited)
		}
		tp.sndCwndUsed = 0
	}
	tp.sndCwndStamp = k.Now()
}

// tsoShouldDefer is tcp_tso_should_defer(): whether to hold a GSO skb
// that the windows would cut short, expecting an ACK soon to open them
// further; it says why, or "" to send now, and whether it is cwnd that
// holds it. It never waits in recovery,
// after a millisecond without sending, when a full 64 KB (max_segs) or a
// third of the window (tcp_tso_win_divisor) can go, with nothing in
// flight, or when the next ACK is more than half an RTT away.
func (tp *tcpSock) tsoShouldDefer(k *kernel.Kernel, s *skb.SKB, inFlight uint32, maxSegs int) (string, bool) {
	if tp.ca >= caRecovery || k.Now()-tp.wstamp > 1_000_000 {
		return "", false
	}
	cb := s.TCPSkbCB()
	sendWin := int(tp.sndUna + tp.sndWnd - cb.Seq())
	congWin := int(tp.cwnd-inFlight) * tp.mss
	limit := min(sendWin, congWin)
	if limit >= maxSegs*tp.mss || s != tp.writeQueue[len(tp.writeQueue)-1] && limit >= s.Len() {
		return "", false
	}
	if limit >= min(int(tp.sndWnd), int(tp.cwnd)*tp.mss)/3 {
		return "", false
	}
	if len(tp.rtxQueue) == 0 {
		return "", false
	}
	srtt := tp.srtt * 1000 >> 3 // ns
	howFar := tp.rtxQueue[0].MstampNs + srtt - k.Now()
	if howFar-min(srtt>>1, 1_000_000) > 0 {
		return "", false
	}
	why := fmt.Sprintf("only %d of %d bytes may go now and an ACK is due: wait for it and send a fuller skb", limit, s.Len())
	if congWin < sendWin && congWin <= s.Len() {
		return why, true
	}
	if congWin >= sendWin && sendWin <= s.Len() || cb.Flags()&header.TCPFin == 0 {
		return why, false
	}
	return "", false
}

// nagleHolds is tcp_nagle_check's condition for a partial segment:
// corked, or Nagle on with an earlier small segment unacknowledged.
func (tp *tcpSock) nagleHolds(inFlight uint32) bool {
	return tp.corked || !tp.nagleOff && !tp.naglePush && inFlight > 0 && int32(tp.sndSml-tp.sndUna) > 0
}

// gsoMaxSize is sk_gso_max_size: GSO_LEGACY_MAX_SIZE, what every device
// of the model allows (dev->gso_max_size's default).
const gsoMaxSize = 65536

// gsoMaxSegs is sk_gso_max_segs: GSO_MAX_SEGS.
const gsoMaxSegs = 65535

var (
	fnTCPSendMss     = kernel.NewFn("tcp_send_mss", tcpC, "tcp")
	fnTCPTsoFragment = kernel.NewFn("tso_fragment", tcpOutputC, "tcp")
	fnTCPFragment    = kernel.NewFn("tcp_fragment", tcpOutputC, "tcp")
	fnTCPTrimHead    = kernel.NewFn("tcp_trim_head", tcpOutputC, "tcp")
)

// tcpSendMss is tcp_send_mss() → tcp_xmit_size_goal(): how many bytes
// tcp_sendmsg may put in one skb. sk_setup_caps gives every TCP socket
// NETIF_F_GSO in 6.12, whatever the device, so the goal is
// sk_gso_max_size less the headers, at most half the largest window the
// peer has offered (tcp_bound_to_half_wnd), in whole segments.
func (n *Net) tcpSendMss(k *kernel.Kernel, tp *tcpSock) int {
	e := k.Call(fnTCPSendMss)
	mss := tp.mss
	newGoal := gsoMaxSize - 1 - maxTCPHeader
	cutoff := int(tp.maxWindow)
	if cutoff > 536 {
		cutoff /= 2
	}
	if cutoff > 0 && newGoal > cutoff {
		newGoal = max(cutoff, 68-header.TCPMinLen)
	}
	goal := tp.gsoSegs * mss
	if newGoal < goal || newGoal >= goal+mss {
		tp.gsoSegs = min(newGoal/mss, gsoMaxSegs)
		goal = tp.gsoSegs * mss
	}
	goal = max(goal, mss)
	e.Note = fmt.Sprintf("mss_now %d; size_goal %d: sk_gso_max_size %d, half the peer's largest window %d", mss, goal, gsoMaxSize, tp.maxWindow)
	k.RetS(fnTCPSendMss, fmt.Sprint(mss))
	return goal
}

// tsoSegs is tcp_tso_segs() → tcp_tso_autosize(): how many segments one
// skb may carry now: about a millisecond's worth at the pacing rate, plus
// sk_gso_max_size shifted right by min_rtt / 512 us (so a short path gets
// full 64 KB skbs), at least two. The pacing rate is tcp_update_pacing_rate's
// (twice cwnd × mss per srtt in slow start, 1.2 times after); min_rtt is
// the smallest sample ever, not the kernel's windowed minimum.
func (tp *tcpSock) tsoSegs(mss int) int {
	bytes := tp.pacingRate(mss) >> 10 // sk_pacing_shift
	if tp.minRTT > 0 {
		if r := tp.minRTT >> 9; r < 32 { // tcp_tso_rtt_log
			bytes += gsoMaxSize >> r
		}
	}
	bytes = min(bytes, gsoMaxSize)
	return min(max(int(bytes)/mss, 2), gsoMaxSegs)
}

// pcount is tcp_skb_pcount(): the segments an skb stands for.
func pcount(s *skb.SKB) int { return max(s.GSOSegs, 1) }

// packetsOut is tp->packets_out: segments sent and not yet acknowledged.
func (tp *tcpSock) packetsOut() uint32 {
	c := 0
	for _, s := range tp.rtxQueue {
		c += pcount(s)
	}
	return uint32(c)
}

// charge is sk_wmem_queued_add and the skb's truesize moving together.
func (tp *tcpSock) charge(s *skb.SKB, delta int) {
	s.Truesize += delta
	tp.sk.WmemAlloc += delta
}

// setSkbTSOSegs is tcp_set_skb_tso_segs(): an skb longer than the MSS is
// a GSO skb of ceil(len / mss) segments of gso_size mss.
func (tp *tcpSock) setSkbTSOSegs(s *skb.SKB, mss int) int {
	if s.Len() <= mss {
		s.GSOSegs, s.GSOSize, s.GSOType = 1, 0, ""
	} else {
		s.GSOSegs, s.GSOSize, s.GSOType = (s.Len()+mss-1)/mss, mss, "SKB_GSO_TCPV4"
	}
	return s.GSOSegs
}

// mssSplitPoint is tcp_mss_split_point(): how much of a GSO skb to send
// now: the quota of segments, cut to the peer's window; for the last
// skb a partial tail segment stays behind while Nagle would hold it.
func (tp *tcpSock) mssSplitPoint(s *skb.SKB, mss, quota int, inFlight uint32) int {
	cb := s.TCPSkbCB()
	window := int(tp.sndUna + tp.sndWnd - cb.Seq())
	maxLen := mss * quota
	if maxLen <= window && s != tp.writeQueue[len(tp.writeQueue)-1] {
		return maxLen
	}
	needed := min(s.Len(), window)
	if maxLen <= needed {
		return maxLen
	}
	if partial := needed % mss; partial != 0 && tp.nagleHolds(inFlight) {
		return needed - partial
	}
	return needed
}

// tsoFragment is tso_fragment(): cut an unsent skb at len bytes; the
// rest goes to a new skb right after it on the write queue, taking the
// FIN and PSH flags along. The model copies the bytes where the kernel
// moves page fragments.
func (n *Net) tsoFragment(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, length, mss int) {
	e := k.Call(fnTCPTsoFragment, s)
	buff := n.splitSkb(k, tp, s, length, mss)
	tp.writeQueue = append([]*skb.SKB{s, buff}, tp.writeQueue[1:]...)
	k.Enqueue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), buff).Note = "the rest of the GSO skb waits for the windows"
	e.Note = fmt.Sprintf("%d bytes (%d segments) go now, %d wait", s.Len(), pcount(s), buff.Len())
	k.RetS(fnTCPTsoFragment, "0", s, buff)
}

// splitSkb moves the bytes past length of s into a new skb, and the
// sequence space and the FIN/PSH flags with them.
func (n *Net) splitSkb(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, length, mss int) *skb.SKB {
	rest := s.Len() - length
	buff := n.tcpStreamAllocSkb(k, tp, rest)
	b, _ := buff.PutBytes(rest)
	copy(b, s.Data()[length:])
	s.Trim(length)
	tp.charge(buff, rest)
	tp.charge(s, -rest)
	cb, bcb := s.TCPSkbCB(), buff.TCPSkbCB()
	flags := cb.Flags()
	bcb.Set(cb.Seq()+uint32(length), cb.EndSeq(), flags)
	cb.Set(cb.Seq(), cb.Seq()+uint32(length), flags&^(header.TCPFin|header.TCPPsh))
	bcb.SetSacked(cb.Sacked())
	buff.MstampNs = s.MstampNs
	tp.setSkbTSOSegs(s, mss)
	tp.setSkbTSOSegs(buff, mss)
	return buff
}

// tcpFragment is tcp_fragment() on the retransmit queue: cut the skb at
// index i after length bytes, so that a retransmission, a SACK or a loss
// mark can cover part of what was sent as one GSO skb. The scoreboard
// counts move with the segments.
func (n *Net) tcpFragment(k *kernel.Kernel, tp *tcpSock, i, length int) {
	s := tp.rtxQueue[i]
	e := k.Call(fnTCPFragment, s)
	before := pcount(s)
	tp.unmark(s.TCPSkbCB().Sacked(), before)
	buff := n.splitSkb(k, tp, s, length, tp.mss)
	tp.mark(s.TCPSkbCB().Sacked(), pcount(s))
	tp.mark(buff.TCPSkbCB().Sacked(), pcount(buff))
	tp.rtxQueue = append(tp.rtxQueue[:i+1], append([]*skb.SKB{buff}, tp.rtxQueue[i+1:]...)...)
	k.Enqueue(tp.sk.QueueName(rtxQueueName), len(tp.rtxQueue), buff)
	e.Note = fmt.Sprintf("%d + %d bytes (%d + %d segments)", s.Len(), buff.Len(), pcount(s), pcount(buff))
	k.RetS(fnTCPFragment, "0", s, buff)
}

// tcpTrimHead is tcp_trim_head() for tcp_tso_acked: the peer acknowledged
// the first part of a GSO skb still on the retransmit queue; drop those
// bytes and report how many segments went.
func (n *Net) tcpTrimHead(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) int {
	cb := s.TCPSkbCB()
	length := int(tp.sndUna - cb.Seq())
	e := k.Call(fnTCPTrimHead, s)
	before := pcount(s)
	tp.unmark(cb.Sacked(), before)
	_ = s.Pull(length)
	tp.charge(s, -length)
	cb.Set(tp.sndUna, cb.EndSeq(), cb.Flags())
	tp.setSkbTSOSegs(s, tp.mss)
	tp.mark(cb.Sacked(), pcount(s))
	e.Note = fmt.Sprintf("%d bytes acknowledged of a GSO skb: %d of %d segments left", length, pcount(s), before)
	k.RetS(fnTCPTrimHead, "0", s)
	return before - pcount(s)
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
	prior := tp.packetsOut()
	tp.sndNxt = s.TCPSkbCB().EndSeq()
	tp.rtxQueue = append(tp.rtxQueue, s)
	k.Enqueue(tp.sk.QueueName(rtxQueueName), len(tp.rtxQueue), s).Note = "kept until acknowledged"
	if prior == 0 || tp.icskPending == icskTimeLossProbe {
		n.tcpRearmRTO(k, tp)
	}
	n.tcpCheckSpace(k, tp)
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
		tp.retransOut += pcount(s)
	}
	cb.SetSacked(cb.Sacked() | skb.TCPCBSackedRetrans | skb.TCPCBEverRetrans)
	k.RetS(fnTCPRetransmitSkbOuter, "0")
}

// tcpRetransmitSkbInner is __tcp_retransmit_skb(): send the first
// unacknowledged skb again (a clone, as the first time).
// A GSO skb longer than one MSS is cut first (tcp_fragment): one segment
// goes again.
func (n *Net) tcpRetransmitSkbInner(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	k.Call(fnTCPRetransmitSkb, s)
	if s.Len() > tp.mss {
		for i, x := range tp.rtxQueue {
			if x == s {
				n.tcpFragment(k, tp, i, tp.mss)
				break
			}
		}
	}
	n.tcpTransmitSkb(k, tp, s, true)
	k.RetS(fnTCPRetransmitSkb, "0")
}

var (
	fnTCPCheckProbeTimer = kernel.NewFn("tcp_check_probe_timer", "include/net/tcp.h", "tcp")
	fnTCPSendProbe0      = kernel.NewFn("tcp_send_probe0", tcpOutputC, "tcp")
	fnTCPWriteWakeup     = kernel.NewFn("tcp_write_wakeup", tcpOutputC, "tcp")
	fnTCPXmitProbeSkb    = kernel.NewFn("tcp_xmit_probe_skb", tcpOutputC, "tcp")
)

// probe0Base is tcp_probe0_base(): the RTO, at least TCP_RTO_MIN.
func (tp *tcpSock) probe0Base() int64 { return max(tp.rto, tcpRTOMinNs) }

// probe0When is tcp_probe0_when(): the probe interval, doubled for each
// unanswered probe (icsk_backoff), at most TCP_RTO_MAX.
func (tp *tcpSock) probe0When() int64 {
	return min(tp.probe0Base()<<min(tp.backoff, 10), tcpRTOMaxNs)
}

// tcpCheckProbeTimer is tcp_check_probe_timer(): data waits, nothing is
// in flight and no timer runs: arm the zero-window probe timer
// (ICSK_TIME_PROBE0) for one RTO.
func (n *Net) tcpCheckProbeTimer(k *kernel.Kernel, tp *tcpSock) {
	if tp.packetsOut() != 0 || tp.icskPending != 0 {
		return
	}
	k.Call(fnTCPCheckProbeTimer).Note = fmt.Sprintf("the peer's window (%d) has no room and nothing is in flight: probe it", tp.sndWnd)
	n.resetTimer(k, tp, icskTimeProbe0, tp.probe0Base())
	k.RetVoid(fnTCPCheckProbeTimer)
}

// tcpSendProbe0 is tcp_send_probe0(): probe the peer's window
// (tcp_write_wakeup), then, unless that got data going, wait twice as
// long for the next probe.
func (n *Net) tcpSendProbe0(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPSendProbe0)
	err := n.tcpWriteWakeup(k, tp)
	if tp.packetsOut() != 0 || len(tp.writeQueue) == 0 {
		e.Note = "data is flowing again: no more probes"
		tp.probesOut, tp.backoff = 0, 0
		k.RetVoid(fnTCPSendProbe0)
		return
	}
	tp.probesOut++
	if err <= 0 && tp.backoff < tcpRetries2 {
		tp.backoff++
	}
	when := tp.probe0When()
	e.Note = fmt.Sprintf("probe %d; the next in %d ms", tp.probesOut, when/1_000_000)
	n.resetTimer(k, tp, icskTimeProbe0, when)
	k.RetVoid(fnTCPSendProbe0)
}

// tcpWriteWakeup is tcp_write_wakeup(): if the window has opened a
// little, send what fits of the first unsent skb (cut with tcp_fragment
// if need be) with PSH; if it is closed, send a probe ACK
// (tcp_xmit_probe_skb).
func (n *Net) tcpWriteWakeup(k *kernel.Kernel, tp *tcpSock) int {
	e := k.Call(fnTCPWriteWakeup)
	if tp.state == tcpClose {
		return int(kernel.Ret(k, fnTCPWriteWakeup, kernel.Err(-1)))
	}
	wndEnd := tp.sndUna + tp.sndWnd
	if len(tp.writeQueue) == 0 || int32(tp.writeQueue[0].TCPSkbCB().Seq()-wndEnd) >= 0 {
		e.Note = "the window is closed: a probe ACK"
		return int(kernel.Ret(k, fnTCPWriteWakeup, kernel.Err(n.tcpXmitProbeSkb(k, tp))))
	}
	s := tp.writeQueue[0]
	cb := s.TCPSkbCB()
	segSize := int(wndEnd - cb.Seq())
	if segSize < int(cb.EndSeq()-cb.Seq()) || s.Len() > tp.mss {
		segSize = min(segSize, tp.mss)
		n.tcpFragmentWriteQueue(k, tp, s, segSize)
	}
	tp.setSkbTSOSegs(s, tp.mss)
	cb.Set(cb.Seq(), cb.EndSeq(), cb.Flags()|header.TCPPsh)
	e.Note = fmt.Sprintf("the window has room for %d bytes: send them", s.Len())
	tp.writeQueue = tp.writeQueue[1:]
	k.Dequeue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), s)
	err := n.tcpTransmitSkb(k, tp, s, true)
	if err == 0 {
		n.tcpEventNewDataSent(k, tp, s)
	} else {
		tp.writeQueue = append([]*skb.SKB{s}, tp.writeQueue...)
	}
	return int(kernel.Ret(k, fnTCPWriteWakeup, kernel.Err(err)))
}

// tcpFragmentWriteQueue is tcp_fragment(TCP_FRAG_IN_WRITE_QUEUE): cut an
// unsent skb after length bytes; the rest follows it on the write queue.
func (n *Net) tcpFragmentWriteQueue(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, length int) {
	e := k.Call(fnTCPFragment, s)
	buff := n.splitSkb(k, tp, s, length, tp.mss)
	tp.writeQueue = append([]*skb.SKB{s, buff}, tp.writeQueue[1:]...)
	k.Enqueue(tp.sk.QueueName(writeQueue), len(tp.writeQueue), buff)
	e.Note = fmt.Sprintf("%d + %d bytes", s.Len(), buff.Len())
	k.RetS(fnTCPFragment, "0", s, buff)
}

// tcpXmitProbeSkb is tcp_xmit_probe_skb(): a bare ACK with the sequence
// number snd_una - 1, already acknowledged, so that the receiver must
// answer with an ACK telling its current window.
func (n *Net) tcpXmitProbeSkb(k *kernel.Kernel, tp *tcpSock) int {
	k.Call(fnTCPXmitProbeSkb).Note = fmt.Sprintf("ACK with seq %d (snd_una - 1): the peer must answer with its window", tp.sndUna-1)
	s := core.AllocSkb(k, maxTCPHeader)
	_ = s.Reserve(maxTCPHeader)
	s.TCPSkbCB().Set(tp.sndUna-1, tp.sndUna-1, header.TCPAck)
	return int(kernel.Ret(k, fnTCPXmitProbeSkb, kernel.Err(n.tcpTransmitSkb(k, tp, s, false))))
}

var (
	fnTCPScheduleLossProbe = kernel.NewFn("tcp_schedule_loss_probe", tcpOutputC, "tcp")
	fnTCPSendLossProbe     = kernel.NewFn("tcp_send_loss_probe", tcpOutputC, "tcp")
	fnTCPRearmRTO          = kernel.NewFn("tcp_rearm_rto", tcpInputC, "tcp")
)

// tcpTimeoutMinNs is TCP_TIMEOUT_MIN (2 jiffies).
const tcpTimeoutMinNs = 2_000_000

// tcpScheduleLossProbe is tcp_schedule_loss_probe(): with SACK, in Open
// or CWR, and data in flight, arm the retransmit timer as
// ICSK_TIME_LOSS_PROBE for two smoothed RTTs (plus 2 ms, or plus rto_min
// when only one segment is out, to allow for a delayed ACK), but never
// later than the RTO would fire. advancingRTO: the RTO is being restarted
// now (tcp_set_xmit_timer), so a whole RTO is the cap.
func (n *Net) tcpScheduleLossProbe(k *kernel.Kernel, tp *tcpSock, advancingRTO bool) bool {
	if tp.packetsOut() == 0 || !tp.sackOK || tp.ca != caOpen && tp.ca != caCWR {
		return false
	}
	e := k.Call(fnTCPScheduleLossProbe)
	timeout := int64(tcpTimeoutInitNs)
	if tp.srtt != 0 {
		timeout = tp.srtt >> 2 * 1000 // 2 × srtt
		if tp.packetsOut() == 1 {
			timeout += tcpRTOMinNs
		} else {
			timeout += tcpTimeoutMinNs
		}
	}
	rtoDelta := tp.rto
	if !advancingRTO {
		rtoDelta = tp.rtoDelta(k)
	}
	if rtoDelta > 0 {
		timeout = min(timeout, rtoDelta)
	}
	e.Note = fmt.Sprintf("a tail loss probe in %.1f ms unless an ACK comes first", float64(timeout)/1e6)
	n.resetTimer(k, tp, icskTimeLossProbe, timeout)
	k.RetS(fnTCPScheduleLossProbe, "true")
	return true
}

// rtoDelta is tcp_rto_delta_us(): how long until the RTO of the oldest
// unacknowledged segment.
func (tp *tcpSock) rtoDelta(k *kernel.Kernel) int64 {
	if len(tp.rtxQueue) == 0 {
		return tp.rto
	}
	return tp.rto - (k.Now() - tp.rtxQueue[0].MstampNs)
}

// tcpSetXmitTimer is tcp_set_xmit_timer(): after an ACK that
// acknowledged data, a loss probe if one may be scheduled, else the RTO.
func (n *Net) tcpSetXmitTimer(k *kernel.Kernel, tp *tcpSock) {
	if !n.tcpScheduleLossProbe(k, tp, true) {
		n.tcpRearmRTO(k, tp)
	}
}

// tcpRearmRTO is tcp_rearm_rto(): nothing in flight clears the timer;
// otherwise the RTO, counted from the oldest segment's send time when a
// loss probe (or reordering timer) stood in for it.
func (n *Net) tcpRearmRTO(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPRearmRTO)
	defer k.RetVoid(fnTCPRearmRTO)
	if tp.packetsOut() == 0 {
		e.Note = "nothing in flight: no timer"
		tp.clearXmitTimer(k)
		return
	}
	rto := tp.rto
	if tp.icskPending == icskTimeLossProbe || tp.icskPending == icskTimeReoTimeout {
		e.Note = "the RTO of the oldest segment, for which a loss probe or RACK's timer stood in"
		rto = max(tp.rtoDelta(k), 1000)
	}
	n.resetTimer(k, tp, icskTimeRetrans, rto)
}

// tcpSendLossProbe is tcp_send_loss_probe(), Tail Loss Probe (RFC 8985):
// the loss probe timer fired, no ACK for two RTTs. Send one segment to
// get an ACK (and with it SACK information that lets RACK see a tail
// loss) instead of waiting for the RTO: new data if the window allows,
// ignoring cwnd, else the last segment sent again. One probe per episode
// (tlp_high_seq); then the RTO is armed again.
func (n *Net) tcpSendLossProbe(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPSendLossProbe)
	defer k.RetVoid(fnTCPSendLossProbe)
	if tp.tlpHighSeq != 0 {
		e.Note = "a probe is already out: back to the RTO"
		n.tcpRearmRTO(k, tp)
		return
	}
	tp.tlpRetrans = false
	if len(tp.writeQueue) > 0 {
		first := tp.writeQueue[0].TCPSkbCB().Seq() + uint32(min(tp.writeQueue[0].Len(), tp.mss))
		if int32(first-(tp.sndUna+tp.sndWnd)) <= 0 { // tcp_snd_wnd_test
			before := tp.packetsOut()
			tp.pushOne = 2
			n.tcpWriteXmit(k, tp)
			tp.pushOne = 0
			if tp.packetsOut() > before {
				e.Note = "new data as the probe"
				tp.tlpHighSeq = tp.sndNxt
				tp.icskPending = 0
			}
			n.tcpRearmRTO(k, tp)
			return
		}
	}
	if len(tp.rtxQueue) == 0 {
		tp.icskPending = 0
		return
	}
	i := len(tp.rtxQueue) - 1
	s := tp.rtxQueue[i]
	if pc := pcount(s); pc > 1 && s.Len() > (pc-1)*tp.mss {
		n.tcpFragment(k, tp, i, (pc-1)*tp.mss)
		s = tp.rtxQueue[i+1]
	}
	e.Note = fmt.Sprintf("the last segment again (seq %d, %d bytes)", s.TCPSkbCB().Seq(), s.Len())
	n.tcpRetransmitSkbInner(k, tp, s)
	s.TCPSkbCB().SetSacked(s.TCPSkbCB().Sacked() | skb.TCPCBEverRetrans)
	tp.tlpRetrans = true
	tp.tlpHighSeq = tp.sndNxt
	tp.icskPending = 0
	n.tcpRearmRTO(k, tp)
}

// pacingRate is sk_pacing_rate as tcp_update_pacing_rate sets it, in
// bytes per second: cwnd × mss per srtt, twice that in slow start, 1.2
// times after.
func (tp *tcpSock) pacingRate(mss int) uint64 {
	ratio := uint64(120)
	if tp.cwnd < tp.ssthresh/2 {
		ratio = 200
	}
	rate := uint64(mss) * ((1_000_000 / 100) << 3) * ratio * uint64(max(tp.cwnd, tp.packetsOut()))
	if tp.srtt > 0 {
		rate /= uint64(tp.srtt)
	}
	return rate
}

var (
	fnTCPSmallQueueCheck = kernel.NewFn("tcp_small_queue_check", tcpOutputC, "tcp")
	fnTCPWfree           = kernel.NewFn("tcp_wfree", tcpOutputC, "tcp")
	fnTCPTaskletFunc     = kernel.NewFn("tcp_tasklet_func", tcpOutputC, "tcp")
	fnTCPTsqHandler      = kernel.NewFn("tcp_tsq_handler", tcpOutputC, "tcp")
	fnTCPShouldAutocork  = kernel.NewFn("tcp_should_autocork", tcpC, "tcp")
)

// tcpLimitOutputBytes is net.ipv4.tcp_limit_output_bytes.
const tcpLimitOutputBytes = 16 * 65536

// tcpSmallQueueCheck is tcp_small_queue_check(), TCP Small Queues: a
// socket may have only about a millisecond of data at its pacing rate
// (at least two skbs, at most tcp_limit_output_bytes, << factor) below
// it in the qdisc and driver. Beyond that it sets TSQ_THROTTLED and
// stops; tcp_wfree resumes it when the driver frees an skb. With at
// most one skb on the retransmit queue it never waits.
func (n *Net) tcpSmallQueueCheck(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, factor uint) bool {
	limit := max(2*s.Truesize, int(tp.pacingRate(tp.mss)>>10))
	limit = min(limit, tcpLimitOutputBytes) << factor // SK_PACING_NONE: no fq pacing
	if tp.wmemAlloc <= limit || len(tp.rtxQueue) <= 1 {
		return false
	}
	k.Call(fnTCPSmallQueueCheck, s).Note = fmt.Sprintf("sk_wmem_alloc %d > limit %d: TSQ_THROTTLED", tp.wmemAlloc, limit)
	tp.tsqThrottled = true
	return kernel.Ret(k, fnTCPSmallQueueCheck, true)
}

// tcpWfree is tcp_wfree(), the destructor of every data skb TCP hands
// to IP: the driver freed it, so its truesize leaves sk_wmem_alloc. If
// the socket was throttled (TSQ_THROTTLED, by TSQ or autocorking), it is
// queued for the TSQ tasklet (TSQF_QUEUED), which sends more.
func (n *Net) tcpWfree(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	e := k.Call(fnTCPWfree, s)
	tp.wmemAlloc -= s.Truesize
	if tp.tsqThrottled && !tp.tsqQueued {
		tp.tsqThrottled, tp.tsqQueued = false, true
		e.Note = tp.name() + " was throttled: queue it for the TSQ tasklet"
		n.tsqList = append(n.tsqList, tp)
		if n.tsq.Fn == nil {
			n.tsq = kernel.Tasklet{Name: "tsq_tasklet", Fn: func() { n.tcpTaskletFunc(k) }}
		}
		if len(n.tsqList) == 1 {
			k.TaskletSchedule(&n.tsq)
		}
	}
	k.RetVoid(fnTCPWfree)
}

// tcpTaskletFunc is tcp_tasklet_func(), the TSQ tasklet: for each queued
// socket, send more (tcp_tsq_handler), or, if a task owns it, leave that
// to release_sock (TCP_TSQ_DEFERRED).
func (n *Net) tcpTaskletFunc(k *kernel.Kernel) {
	k.Call(fnTCPTaskletFunc)
	list := n.tsqList
	n.tsqList = nil
	for _, tp := range list {
		tp.tsqQueued = false
		if tp.ownedByUser {
			tp.deferredTSQ = true
			continue
		}
		n.tcpTsqHandler(k, tp)
	}
	k.RetVoid(fnTCPTaskletFunc)
}

// tcpTsqHandler is tcp_tsq_handler() → tcp_tsq_write(): in a state that
// sends, retransmit what is lost if cwnd allows, then tcp_write_xmit.
func (n *Net) tcpTsqHandler(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPTsqHandler)
	switch tp.state {
	case tcpEstablished, tcpFinWait1, tcpClosing, tcpCloseWait, tcpLastAck:
		if tp.lostOut > tp.retransOut && tp.cwnd > tp.packetsInFlight() {
			n.tcpXmitRetransmitQueue(k, tp)
		}
		if len(tp.writeQueue) > 0 {
			n.tcpWriteXmit(k, tp)
		}
	}
	k.RetVoid(fnTCPTsqHandler)
}

// tcpShouldAutocork is tcp_should_autocork(): hold a partial skb back in
// tcp_push while an earlier skb of this socket is still in the qdisc or
// the driver: its TX completion (tcp_wfree) will push, and more bytes
// may have joined by then.
func (n *Net) tcpShouldAutocork(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, sizeGoal int) bool {
	if s.Len() >= sizeGoal || len(tp.rtxQueue) == 0 || tp.wmemAlloc <= s.Truesize {
		return false
	}
	k.Call(fnTCPShouldAutocork, s).Note = fmt.Sprintf("%d bytes < size_goal %d, sk_wmem_alloc %d: autocork", s.Len(), sizeGoal, tp.wmemAlloc)
	return kernel.Ret(k, fnTCPShouldAutocork, true)
}

var fnTCPPushOne = kernel.NewFn("tcp_push_one", tcpOutputC, "tcp")

// tcpPushOne is tcp_push_one(): tcp_sendmsg filled the skb at the head of
// the write queue: send it now (tcp_write_xmit with push_one, Nagle off
// as TCP_NAGLE_PUSH, no TSO deferral) while the rest of the write is
// still being copied.
func (n *Net) tcpPushOne(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPPushOne).Note = "a full skb at the head of the write queue: send it while the copy goes on"
	tp.pushOne, tp.naglePush = 1, true
	n.tcpWriteXmit(k, tp)
	tp.pushOne, tp.naglePush = 0, false
	k.RetVoid(fnTCPPushOne)
}

// forcedPush is forced_push(): more than half the peer's largest window
// written since the last PSH.
func (tp *tcpSock) forcedPush() bool {
	return int32(tp.writeSeq-(tp.pushedSeq+tp.maxWindow>>1)) > 0
}

// markPush is tcp_mark_push(): PSH on s, and remember where.
func (tp *tcpSock) markPush(s *skb.SKB) {
	cb := s.TCPSkbCB()
	cb.Set(cb.Seq(), cb.EndSeq(), cb.Flags()|header.TCPPsh)
	tp.pushedSeq = tp.writeSeq
}
