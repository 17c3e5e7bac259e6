package ipv4

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const tcpInputC = "net/ipv4/tcp_input.c"

var (
	fnTCPRcvStateProcess  = kernel.NewFn("tcp_rcv_state_process", tcpInputC, "tcp")
	fnTCPRcvSynsent       = kernel.NewFn("tcp_rcv_synsent_state_process", tcpInputC, "tcp")
	fnTCPFinishConnect    = kernel.NewFn("tcp_finish_connect", tcpInputC, "tcp")
	fnTCPRcvEstablished   = kernel.NewFn("tcp_rcv_established", tcpInputC, "tcp")
	fnTCPValidateIncoming = kernel.NewFn("tcp_validate_incoming", tcpInputC, "tcp")
	fnTCPAck              = kernel.NewFn("tcp_ack", tcpInputC, "tcp")
	fnTCPCleanRtxQueue    = kernel.NewFn("tcp_clean_rtx_queue", tcpInputC, "tcp")
	fnTCPCongAvoid        = kernel.NewFn("tcp_cong_avoid", tcpInputC, "tcp")
	fnTCPDataQueue        = kernel.NewFn("tcp_data_queue", tcpInputC, "tcp")
	fnTCPQueueRcv         = kernel.NewFn("tcp_queue_rcv", tcpInputC, "tcp")
	fnTCPEventDataRecv    = kernel.NewFn("tcp_event_data_recv", tcpInputC, "tcp")
	fnTCPGrowWindow       = kernel.NewFn("tcp_grow_window", tcpInputC, "tcp")
	fnTCPAckSndCheck      = kernel.NewFn("__tcp_ack_snd_check", tcpInputC, "tcp")
	fnTCPDataReady        = kernel.NewFn("tcp_data_ready", tcpInputC, "tcp")
	fnTCPFin              = kernel.NewFn("tcp_fin", tcpInputC, "tcp")
	fnTCPReset            = kernel.NewFn("tcp_reset", tcpInputC, "tcp")
	fnTCPDataSndCheck     = kernel.NewFn("tcp_data_snd_check", tcpInputC, "tcp")
)

// rcvInfoOf reads back what tcp_v4_rcv put in TCP_SKB_CB.
func rcvInfoOf(s *skb.SKB) *tcpRcvInfo {
	cb := s.TCPSkbCB()
	th := header.TCP(s.Data())
	in := &tcpRcvInfo{th: th, opts: th.Options(), seq: cb.Seq(), end: cb.EndSeq(), ack: cb.AckSeq(), fl: cb.Flags()}
	in.ip = header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	in.dlen = len(th) - th.DataOff()
	return in
}

// tcpRcvStateProcess is tcp_rcv_state_process(): every state but
// ESTABLISHED. LISTEN takes SYNs (conn_request), SYN_SENT takes the
// SYN-ACK, and the closing states follow the ACKs of our FIN.
func (n *Net) tcpRcvStateProcess(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	e := k.Call(fnTCPRcvStateProcess, s)
	done := func() { k.RetS(fnTCPRcvStateProcess, "0") }
	in := rcvInfoOf(s)
	switch tp.state {
	case tcpClose:
		core.KfreeSkbReason(k, s, dropTCPFlags)
		done()
		return
	case tcpListen:
		switch {
		case in.fl&header.TCPAck != 0:
			e.Note = "an ACK on a listener: reset (tcp_v4_send_reset)"
			n.tcpV4SendReset(k, s, in)
			core.KfreeSkbReason(k, s, dropTCPFlags)
		case in.fl&header.TCPRst != 0:
			core.KfreeSkbReason(k, s, dropTCPReset)
		case in.fl&header.TCPSyn != 0:
			e.Note = "a SYN on a listener: icsk_af_ops->conn_request"
			n.tcpV4ConnRequest(k, tp, s)
		default:
			core.KfreeSkbReason(k, s, dropTCPFlags)
		}
		done()
		return
	case tcpSynSent:
		n.tcpRcvSynsentStateProcess(k, tp, s, in)
		done()
		return
	}
	if !n.tcpValidateIncoming(k, tp, s, in) {
		done()
		return
	}
	if in.fl&header.TCPAck == 0 {
		core.KfreeSkbReason(k, s, dropTCPFlags)
		done()
		return
	}
	acked := n.tcpAck(k, tp, in)
	switch tp.state {
	case tcpSynRecv:
		if !acked {
			n.tcpV4SendReset(k, s, in)
			core.KfreeSkbReason(k, s, dropTCPFlags)
			done()
			return
		}
		tp.sndWnd = uint32(in.th.Window()) << tp.sndWscale
		tp.maxWindow = tp.sndWnd
		tp.setState(k, tcpEstablished)
		n.tcpInitBufferSpace(k, tp)
		tp.stateChange(k)
	case tcpFinWait1:
		if tp.sndUna == tp.writeSeq {
			tp.setState(k, tcpFinWait2)
			tp.stateChange(k)
		}
	case tcpClosing:
		if tp.sndUna == tp.writeSeq {
			n.tcpTimeWait(k, tp)
			core.ConsumeSkb(k, s)
			done()
			return
		}
	case tcpLastAck:
		if tp.sndUna == tp.writeSeq {
			e.Note = "our FIN is acknowledged: the connection is closed"
			n.tcpDone(k, tp)
			core.ConsumeSkb(k, s)
			done()
			return
		}
	}
	switch tp.state {
	case tcpEstablished, tcpFinWait1, tcpFinWait2, tcpCloseWait, tcpSynRecv:
		if in.dlen > 0 || in.fl&header.TCPFin != 0 {
			n.tcpDataQueue(k, tp, s, in)
			if tp.state != tcpClose {
				n.tcpDataSndCheck(k, tp)
				n.tcpAckSndCheck(k, tp)
			}
			done()
			return
		}
	}
	n.tcpDataSndCheck(k, tp)
	core.ConsumeSkb(k, s)
	done()
}

// tcpRcvSynsentStateProcess is tcp_rcv_synsent_state_process(): a
// SYN-ACK that acknowledges our SYN completes the handshake; a RST means
// nobody listens (-ECONNREFUSED).
func (n *Net) tcpRcvSynsentStateProcess(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, in *tcpRcvInfo) {
	e := k.Call(fnTCPRcvSynsent, s)
	done := func() { k.RetS(fnTCPRcvSynsent, "0") }
	if in.fl&header.TCPAck != 0 && in.ack != tp.sndNxt {
		e.Note = fmt.Sprintf("ack %d does not acknowledge our SYN (%d): reset", in.ack, tp.sndNxt)
		n.tcpV4SendReset(k, s, in)
		core.KfreeSkbReason(k, s, dropTCPFlags)
		done()
		return
	}
	if in.fl&header.TCPRst != 0 {
		if in.fl&header.TCPAck != 0 {
			e.Note = "RST|ACK to our SYN: connection refused"
			n.tcpReset(k, tp, -kernel.ECONNREFUSED)
		}
		core.KfreeSkbReason(k, s, dropTCPReset)
		done()
		return
	}
	if in.fl&(header.TCPSyn|header.TCPAck) != header.TCPSyn|header.TCPAck {
		core.KfreeSkbReason(k, s, dropTCPFlags)
		done()
		return
	}
	o := in.opts
	tp.rcvNxt = in.seq + 1
	tp.copiedSeq, tp.rcvWup = tp.rcvNxt, tp.rcvNxt
	tp.sackOK, tp.tstampOK = o.SACKPerm, o.TS
	tp.wsOK = o.WScale >= 0
	if tp.wsOK {
		tp.sndWscale = o.WScale
	} else {
		tp.rcvWscale = 0
		tp.windowClamp = min(tp.windowClamp, 65535)
	}
	if o.TS {
		tp.storeTSRecent(k, o.TSVal)
	}
	if o.MSS != 0 {
		tp.mss = min(tp.advmss, int(o.MSS))
	}
	if tp.tstampOK {
		tp.mss -= 12 // room for the timestamp option in every segment
	}
	tp.sndWnd = uint32(in.th.Window()) // a SYN's window is never scaled
	tp.maxWindow = tp.sndWnd
	tp.sndWl1 = in.seq
	e.Note = fmt.Sprintf("SYN-ACK: peer ISN %d, mss %d%s", in.seq, tp.mss, optNote(o))
	n.tcpAck(k, tp, in)
	n.tcpFinishConnect(k, tp)
	// The handshake's last ACK goes out at once (no data to carry it).
	n.tcpSendAck(k, tp)
	core.ConsumeSkb(k, s)
	done()
}

// tcpFinishConnect is tcp_finish_connect(): ESTABLISHED; wake connect().
func (n *Net) tcpFinishConnect(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPFinishConnect)
	tp.setState(k, tcpEstablished)
	n.tcpInitBufferSpace(k, tp)
	tp.stateChange(k)
	k.RetVoid(fnTCPFinishConnect)
}

// tcpValidateIncoming is tcp_validate_incoming(): the segment must fall
// in the receive window (RFC 793 acceptability); RST is obeyed, a SYN is
// not expected here.
func (n *Net) tcpValidateIncoming(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, in *tcpRcvInfo) bool {
	e := k.Call(fnTCPValidateIncoming, s)
	if tp.tstampOK && in.opts.TS && n.tcpPawsDiscard(k, tp, in) && in.fl&header.TCPRst == 0 {
		e.Note = fmt.Sprintf("TSval %d is older than ts_recent %d: PAWS", in.opts.TSVal, tp.tsRecent)
		if tp.oowRateLimited(k, in) {
			e.Note += ": the dupack is rate-limited"
		} else {
			n.tcpSendDupack(k, tp, in)
		}
		core.KfreeSkbReason(k, s, dropTCPPaws)
		return kernel.Ret(k, fnTCPValidateIncoming, false)
	}
	in.updateTS = true // FLAG_UPDATE_TS_RECENT: tcp_ack stores ts_recent once the segment passed
	// tcp_sequence: not wholly before the window, not beyond it.
	reason := skb.Reason("")
	wnd := tp.receiveWindow()
	if int32(in.end-tp.rcvWup) < 0 {
		reason = dropTCPOldSeq
	} else if int32(in.seq-(tp.rcvNxt+wnd)) > 0 {
		reason = dropTCPInvSeq
	}
	if reason != "" {
		e.Note = fmt.Sprintf("seq %d-%d is outside the window [%d, %d]", in.seq, in.end, tp.rcvNxt, tp.rcvNxt+wnd)
		if in.fl&header.TCPRst == 0 {
			if tp.oowRateLimited(k, in) {
				e.Note += ": the dupack is rate-limited"
			} else {
				e.Note += ": dupack"
				n.tcpSendDupack(k, tp, in)
			}
		}
		core.KfreeSkbReason(k, s, reason)
		return kernel.Ret(k, fnTCPValidateIncoming, false)
	}
	if in.fl&header.TCPRst != 0 {
		e.Note = "RST in the window: the connection is reset"
		n.tcpReset(k, tp, -kernel.ECONNRESET)
		core.KfreeSkbReason(k, s, dropTCPReset)
		return kernel.Ret(k, fnTCPValidateIncoming, false)
	}
	// Step 4: a SYN on a synchronized connection (RFC 5961 4.2), such as
	// a SYN-ACK sent again because our ACK was lost or ignored, gets a
	// challenge ACK and is dropped.
	if in.fl&header.TCPSyn != 0 {
		e.Note = "a SYN on a synchronized connection: challenge ACK"
		n.tcpSendChallengeAck(k, tp)
		core.KfreeSkbReason(k, s, dropTCPInvalidSyn)
		return kernel.Ret(k, fnTCPValidateIncoming, false)
	}
	return kernel.Ret(k, fnTCPValidateIncoming, true)
}

var fnTCPSendChallengeAck = kernel.NewFn("tcp_send_challenge_ack", tcpInputC, "tcp")

// tcpSendChallengeAck is tcp_send_challenge_ack() (RFC 5961): an ACK of
// where we are, at most one per tcp_invalid_ratelimit per socket (the
// global tcp_challenge_ack_limit is off by default in 6.12).
func (n *Net) tcpSendChallengeAck(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPSendChallengeAck)
	if tp.lastOOW != 0 && k.Now()-tp.lastOOW < tcpInvalidRatelimit {
		e.Note = "rate-limited"
	} else {
		tp.lastOOW = k.Now()
		n.tcpSendAck(k, tp)
	}
	k.RetVoid(fnTCPSendChallengeAck)
}

// tcpReset is tcp_reset(): the peer reset the connection; report err to
// the owner and close.
func (n *Net) tcpReset(k *kernel.Kernel, tp *tcpSock, err int) {
	k.Call(fnTCPReset).Note = fmt.Sprintf("sk_err = %s", kernel.Err(err))
	tp.sk.Err = err
	n.tcpDone(k, tp)
	k.RetVoid(fnTCPReset)
}

// tcpRcvEstablished is tcp_rcv_established(). The fast path (header
// prediction) takes in-order data or pure ACKs for the expected sequence;
// anything else goes the slow way: validate, tcp_ack, tcp_data_queue.
func (n *Net) tcpRcvEstablished(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	e := k.Call(fnTCPRcvEstablished, s)
	in := rcvInfoOf(s)
	fast := in.seq == tp.rcvNxt && len(tp.ofoQueue) == 0 && len(in.opts.SACK) == 0 && tp.ca == caOpen &&
		in.fl&(header.TCPSyn|header.TCPFin|header.TCPRst|header.TCPUrg) == 0 &&
		in.fl&header.TCPAck != 0 && int32(in.ack-tp.sndUna) >= 0 && int32(in.ack-tp.sndNxt) <= 0
	// Timestamp header prediction: an older TSval than ts_recent takes the
	// slow path, where PAWS looks at it.
	fast = fast && !(tp.tstampOK && in.opts.TS && int32(in.opts.TSVal-tp.tsRecent) < 0)
	if fast {
		if in.opts.TS && tp.rcvNxt == tp.rcvWup {
			tp.storeTSRecent(k, in.opts.TSVal) // tcp_store_ts_recent
		}
		if in.dlen == 0 {
			e.Note = "header prediction hit: a pure ACK"
			n.tcpAck(k, tp, in)
			core.ConsumeSkb(k, s)
			n.tcpDataSndCheck(k, tp)
			k.RetVoid(fnTCPRcvEstablished)
			return
		}
		e.Note = "header prediction hit: in-order data (fast path)"
		tp.rcvRTTMeasureTs(k, in)
		_ = s.Pull(in.th.DataOff())
		n.tcpQueueRcv(k, tp, s, in)
		n.tcpEventDataRecv(k, tp, s)
		if in.ack != tp.sndUna {
			n.tcpAck(k, tp, in)
			n.tcpDataSndCheck(k, tp)
		}
		n.tcpAckSndCheck(k, tp)
		n.tcpDataReady(k, tp)
		k.RetVoid(fnTCPRcvEstablished)
		return
	}
	e.Note = "slow path"
	if !n.tcpValidateIncoming(k, tp, s, in) {
		k.RetVoid(fnTCPRcvEstablished)
		return
	}
	if in.fl&header.TCPAck == 0 {
		core.KfreeSkbReason(k, s, dropTCPFlags)
		k.RetVoid(fnTCPRcvEstablished)
		return
	}
	n.tcpAck(k, tp, in)
	tp.rcvRTTMeasureTs(k, in)
	if in.dlen > 0 || in.fl&header.TCPFin != 0 {
		n.tcpDataQueue(k, tp, s, in)
	} else {
		core.ConsumeSkb(k, s)
	}
	n.tcpDataSndCheck(k, tp)
	n.tcpAckSndCheck(k, tp)
	k.RetVoid(fnTCPRcvEstablished)
}

// tcpAck is tcp_ack(): take in what the peer acknowledged: advance
// snd_una, free acknowledged skbs (tcp_clean_rtx_queue), update the send
// window, grow cwnd, and rearm or stop the retransmit timer. It reports
// whether the ACK was acceptable.
func (n *Net) tcpAck(k *kernel.Kernel, tp *tcpSock, in *tcpRcvInfo) bool {
	e := k.Call(fnTCPAck)
	if int32(in.ack-tp.sndNxt) > 0 {
		e.Note = fmt.Sprintf("ack %d is beyond snd_nxt %d", in.ack, tp.sndNxt)
		k.RetS(fnTCPAck, "-SKB_DROP_REASON_TCP_ACK_UNSENT_DATA")
		return false
	}
	if int32(in.ack-tp.sndUna) < 0 {
		e.Note = "an old ACK"
		k.RetS(fnTCPAck, "0")
		return true
	}
	if in.updateTS && in.opts.TS && int32(in.seq-tp.rcvWup) <= 0 && tp.pawsCheck(k, in.opts.TSVal, 0) {
		tp.storeTSRecent(k, in.opts.TSVal) // tcp_replace_ts_recent
	}
	if tp.state != tcpSynSent && in.fl&header.TCPSyn == 0 {
		tp.sndWnd = uint32(in.th.Window()) << tp.sndWscale
		tp.maxWindow = max(tp.maxWindow, tp.sndWnd)
	}
	acked := in.ack - tp.sndUna
	prior := tp.sndUna
	priorPackets := tp.packetsOut()
	tp.sndUna = in.ack
	ackedSegs := 0
	if priorPackets == 0 {
		// no_queue: nothing was in flight, so this answers a window
		// probe (or is a window update).
		n.tcpAckProbe(k, tp)
		if tp.tlpHighSeq != 0 {
			n.tcpProcessTLPAck(k, tp, in.ack, acked > 0, false)
		}
		e.Note = fmt.Sprintf("nothing in flight; snd_wnd %d", tp.sndWnd)
		r := k.RetS(fnTCPAck, "1")
		r.Vals = tp.vals()
		return true
	}
	newlySacked := 0
	if len(in.opts.SACK) > 0 && tp.sackOK {
		newlySacked = n.tcpSacktag(k, tp, in.opts.SACK)
	}
	if acked > 0 {
		ackedSegs = n.tcpCleanRtxQueue(k, tp)
		tp.retransmits, tp.backoff = 0, 0
	}
	if tp.tlpHighSeq != 0 {
		n.tcpProcessTLPAck(k, tp, in.ack, acked > 0, newlySacked > 0)
	}
	rexmit, newlyLost, reoArmed := false, 0, false
	if tp.sackedOut > 0 || tp.lostOut > 0 || tp.ca != caOpen { // tcp_ack_is_dubious
		newlyLost, reoArmed = n.tcpRackMarkLost(k, tp)
		rexmit = n.tcpFastretransAlert(k, tp)
	}
	if acked > 0 && !reoArmed { // FLAG_SET_XMIT_TIMER, unless RACK armed the timer
		n.tcpSetXmitTimer(k, tp)
	}
	// tcp_cong_control: PRR while cwnd is being reduced, else growth.
	if tp.inCwndReduction() {
		n.tcpCwndReduction(k, tp, ackedSegs+newlySacked, newlyLost, acked > 0)
	} else if ackedSegs > 0 && (tp.state == tcpEstablished || tp.state == tcpCloseWait) {
		n.tcpCongAvoid(k, tp, uint32(ackedSegs))
	}
	if rexmit { // tcp_xmit_recovery
		n.tcpXmitRetransmitQueue(k, tp)
	}
	e.Note = fmt.Sprintf("snd_una %d → %d (%d bytes acknowledged), snd_wnd %d", prior, tp.sndUna, acked, tp.sndWnd)
	r := k.RetS(fnTCPAck, "1")
	r.Vals = tp.vals()
	return true
}

// tcpCleanRtxQueue is tcp_clean_rtx_queue(): free every skb now wholly
// acknowledged and take an RTT sample for the RTO.
func (n *Net) tcpCleanRtxQueue(k *kernel.Kernel, tp *tcpSock) int {
	k.Call(fnTCPCleanRtxQueue)
	sample, freed := int64(-1), 0
	for len(tp.rtxQueue) > 0 {
		s := tp.rtxQueue[0]
		if int32(s.TCPSkbCB().EndSeq()-tp.sndUna) > 0 {
			// tcp_tso_acked: part of a GSO skb is acknowledged.
			if pcount(s) > 1 && int32(tp.sndUna-s.TCPSkbCB().Seq()) > 0 {
				if s.TCPSkbCB().Sacked()&skb.TCPCBEverRetrans == 0 {
					sample = k.Now() - s.MstampNs
				}
				freed += n.tcpTrimHead(k, tp, s)
			}
			break
		}
		tp.rtxQueue = tp.rtxQueue[1:]
		k.Dequeue(tp.sk.QueueName(rtxQueueName), len(tp.rtxQueue), s).Note = "acknowledged"
		sacked := s.TCPSkbCB().Sacked()
		if sacked&skb.TCPCBEverRetrans == 0 { // Karn: a retransmitted segment's RTT is ambiguous
			sample = k.Now() - s.MstampNs
		}
		tp.unmark(sacked, pcount(s))
		freed += pcount(s)
		tp.freeWmem(k, s)
	}
	if sample >= 0 {
		n.tcpRttEstimator(k, tp, sample)
	}
	k.RetS(fnTCPCleanRtxQueue, fmt.Sprint(freed))
	return freed
}

var fnTCPRttEstimator = kernel.NewFn("tcp_rtt_estimator", tcpInputC, "tcp")

// tcpRttEstimator is tcp_rtt_estimator() and tcp_set_rto(): Van
// Jacobson's smoothed RTT (srtt = 7/8 srtt + 1/8 sample) and mean
// deviation, whose variance term never goes below rto_min (200 ms), so
// rto = srtt + rttvar.
func (n *Net) tcpRttEstimator(k *kernel.Kernel, tp *tcpSock, sampleNs int64) {
	e := k.Call(fnTCPRttEstimator)
	m := max(sampleNs/1000, 1) // us
	if tp.minRTT == 0 || m < tp.minRTT {
		tp.minRTT = m // tcp_update_rtt_min, without its window
	}
	const rtoMinUs = tcpRTOMinNs / 1000
	srtt := tp.srtt // srtt_us << 3
	if srtt != 0 {
		m -= srtt >> 3
		srtt += m
		if m < 0 {
			m = -m
			m -= tp.mdev >> 2
			if m > 0 {
				m >>= 3
			}
		} else {
			m -= tp.mdev >> 2
		}
		tp.mdev += m
		if tp.mdev > tp.mdevMax {
			tp.mdevMax = tp.mdev
			tp.rttvar = max(tp.rttvar, tp.mdevMax)
		}
		if int32(uint32(tp.sndUna)-uint32(tp.rttSeq)) > 0 {
			if tp.mdevMax < tp.rttvar {
				tp.rttvar -= (tp.rttvar - tp.mdevMax) >> 2
			}
			tp.rttSeq = int64(tp.sndNxt)
			tp.mdevMax = rtoMinUs
		}
	} else {
		srtt = m << 3
		tp.mdev = m << 1
		tp.rttvar = max(tp.mdev, rtoMinUs)
		tp.mdevMax = tp.rttvar
		tp.rttSeq = int64(tp.sndNxt)
	}
	tp.srtt = max(1, srtt)
	tp.rto = min(((tp.srtt>>3)+tp.rttvar)*1000, tcpRTOMaxNs)
	e.Note = fmt.Sprintf("RTT sample %d us: srtt %d us, rttvar %d us, rto %.1f ms", sampleNs/1000, tp.srtt>>3, tp.rttvar, float64(tp.rto)/1e6)
	k.RetVoid(fnTCPRttEstimator)
}

// tcpCongAvoid is tcp_cong_avoid(): the congestion control grows cwnd
// for the segments just acknowledged.
func (n *Net) tcpCongAvoid(k *kernel.Kernel, tp *tcpSock, acked uint32) {
	e := k.Call(fnTCPCongAvoid)
	defer k.RetVoid(fnTCPCongAvoid)
	// tcp_is_cwnd_limited: grow only a window that is in use (in slow
	// start, up to twice what was in flight).
	tp.sndCwndStamp = k.Now()
	if !tp.cwndLimited() {
		e.Note = fmt.Sprintf("not cwnd-limited (at most %d packets out in this window, cwnd %d): cwnd stays", tp.maxPacketsOut, tp.cwnd)
		return
	}
	old := tp.cwnd
	how := tp.cc.congAvoid(k, tp, acked)
	e.Note = fmt.Sprintf("%s: cwnd %d → %d", how, old, tp.cwnd)
}

// cwndLimited is tcp_is_cwnd_limited(): cwnd was what held the sender
// back in this window, or, in slow start, the window is less than twice
// what was out at most.
func (tp *tcpSock) cwndLimited() bool {
	return tp.isCwndLimited || tp.cwnd < tp.ssthresh && tp.cwnd < 2*tp.maxPacketsOut
}

var fnTCPSndbufExpand = kernel.NewFn("tcp_sndbuf_expand", tcpInputC, "tcp")

// tcpSndbufExpand is tcp_sndbuf_expand(): the send buffer follows the
// window: room for twice max(cwnd, 10, reordering + 1) segments of the
// truesize a full-sized skb would have, up to tcp_wmem[2]. Not once
// SO_SNDBUF fixed the size (tcp_init_buffer_space and
// tcp_should_expand_sndbuf check SOCK_SNDBUF_LOCK).
func (n *Net) tcpSndbufExpand(k *kernel.Kernel, tp *tcpSock) {
	if tp.sk.SndBufLocked {
		return
	}
	e := k.Call(fnTCPSndbufExpand)
	perMSS := skb.TrueSize(skb.KmallocSize(max(tp.mss, tp.advmss) + maxTCPHeader + skb.SharedInfoSize))
	segs := max(tp.cwnd, tcpInitCwnd, tcpReordering+1)
	want := min(2*int(segs)*perMSS, tcpWmemMax)
	if tp.sk.SndBuf < want {
		e.Note = fmt.Sprintf("sk_sndbuf %d → %d (2 × %d segments × %d bytes)", tp.sk.SndBuf, want, segs, perMSS)
		tp.sk.SndBuf = want
	} else {
		e.Note = fmt.Sprintf("sk_sndbuf %d already holds 2 × %d segments", tp.sk.SndBuf, segs)
	}
	k.RetVoid(fnTCPSndbufExpand)
}

// tcpReordering is net.ipv4.tcp_reordering, the initial tp->reordering.
const tcpReordering = 3

var (
	fnTCPCheckSpace      = kernel.NewFn("tcp_check_space", tcpInputC, "tcp")
	fnTCPNewSpace        = kernel.NewFn("tcp_new_space", tcpInputC, "tcp")
	fnSkStreamWriteSpace = kernel.NewFn("sk_stream_write_space", "net/core/stream.c", "socket")
)

// tcpCheckSpace is tcp_check_space(), after ACKs freed memory or data
// left: if a writer ran out of send buffer (SOCK_NOSPACE), tcp_new_space.
// Without SOCK_NOSPACE it does nothing, and the model does not trace it.
func (n *Net) tcpCheckSpace(k *kernel.Kernel, tp *tcpSock) {
	if !tp.noSpace {
		return
	}
	k.Call(fnTCPCheckSpace)
	n.tcpNewSpace(k, tp)
	k.RetVoid(fnTCPCheckSpace)
}

// tcpNewSpace is tcp_new_space(): grow the send buffer if
// tcp_should_expand_sndbuf says the window is not full (SO_SNDBUF not
// set, packets in flight below cwnd), then sk->sk_write_space
// (sk_stream_write_space).
func (n *Net) tcpNewSpace(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPNewSpace)
	switch {
	case tp.sk.SndBufLocked:
		e.Note = "tcp_should_expand_sndbuf: no, SO_SNDBUF fixed the size"
	case tp.packetsInFlight() >= tp.cwnd:
		e.Note = fmt.Sprintf("tcp_should_expand_sndbuf: no, cwnd %d is full", tp.cwnd)
	default:
		e.Note = "tcp_should_expand_sndbuf: yes, cwnd has room"
		n.tcpSndbufExpand(k, tp)
		tp.sndCwndStamp = k.Now()
	}
	n.skStreamWriteSpace(k, tp)
	k.RetVoid(fnTCPNewSpace)
}

// skStreamWriteSpace is sk_stream_write_space(): once free send buffer is
// at least half of what is queued (__sk_stream_is_writeable), clear
// SOCK_NOSPACE and wake the writer sleeping in sk_stream_wait_memory.
func (n *Net) skStreamWriteSpace(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnSkStreamWriteSpace)
	queued := tp.sk.WmemAlloc
	if tp.sk.SndBuf-queued >= queued/2 && queued < tp.sk.SndBuf {
		tp.noSpace = false
		e.Note = fmt.Sprintf("sk_wmem_queued %d of sk_sndbuf %d: writeable, %d writer(s) woken", queued, tp.sk.SndBuf, tp.sk.WqWrite.Len())
		k.WakeUp(&tp.sk.WqWrite)
	} else {
		e.Note = fmt.Sprintf("sk_wmem_queued %d of sk_sndbuf %d: not writeable yet", queued, tp.sk.SndBuf)
	}
	k.RetVoid(fnSkStreamWriteSpace)
}

// tcpDataSndCheck is tcp_data_snd_check(): an ACK may have opened the
// window: send what waits (tcp_push_pending_frames), then see whether a
// writer waits for the memory the ACK freed (tcp_check_space).
func (n *Net) tcpDataSndCheck(k *kernel.Kernel, tp *tcpSock) {
	if len(tp.writeQueue) == 0 && !tp.noSpace {
		return
	}
	k.Call(fnTCPDataSndCheck)
	n.tcpPushPendingFrames(k, tp)
	n.tcpCheckSpace(k, tp)
	k.RetVoid(fnTCPDataSndCheck)
}

// tcpDataQueue is tcp_data_queue(): in-order data joins
// sk_receive_queue (and may pull held segments after it), a FIN moves
// the state on; data wholly received before is acknowledged again (the
// sender missed our ACK), the received front of a partly new segment is
// trimmed off, and data beyond rcv_nxt waits on the out-of-order queue.
func (n *Net) tcpDataQueue(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, in *tcpRcvInfo) {
	e := k.Call(fnTCPDataQueue, s)
	defer k.RetVoid(fnTCPDataQueue)
	if int32(in.end-tp.rcvNxt) <= 0 {
		e.Note = "a retransmission of what we already have: D-SACK, ACK now"
		tp.quickAck = true
		core.KfreeSkbReason(k, s, dropTCPOldData)
		return
	}
	pulled := 0
	if cut := int32(tp.rcvNxt - in.seq); cut > 0 && int(cut) <= in.dlen {
		e.Note = fmt.Sprintf("the first %d bytes were received before: trimmed", cut)
		pulled = in.th.DataOff() + int(cut)
		_ = s.Pull(pulled)
		in.dlen -= int(cut)
		in.seq = tp.rcvNxt
	}
	if in.seq != tp.rcvNxt {
		n.tcpDataQueueOfo(k, tp, s, in)
		return
	}
	if pulled == 0 {
		_ = s.Pull(in.th.DataOff())
	}
	if in.dlen > 0 {
		n.tcpQueueRcv(k, tp, s, in)
		n.tcpEventDataRecv(k, tp, s)
		n.tcpOfoQueue(k, tp)
	}
	if in.fl&header.TCPFin != 0 {
		tp.rcvNxt++
		n.tcpFin(k, tp)
	}
	if in.dlen == 0 {
		core.ConsumeSkb(k, s)
	}
	n.tcpDataReady(k, tp)
}

// tcpQueueRcv is tcp_queue_rcv(): queue the data (the header already
// pulled) on sk_receive_queue (skb_set_owner_r) and advance rcv_nxt.
func (n *Net) tcpQueueRcv(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, in *tcpRcvInfo) {
	k.Call(fnTCPQueueRcv, s)
	s.TCPSkbCB().Set(in.seq, in.seq+uint32(in.dlen), in.fl)
	tp.rcvNxt = in.seq + uint32(in.dlen)
	tp.sk.RmemAlloc += s.Truesize
	s.Sk, s.Dev = tp.name(), ""
	tp.sk.ReceiveQueue = append(tp.sk.ReceiveQueue, s)
	k.Enqueue(tp.sk.QueueName(receiveQueue), len(tp.sk.ReceiveQueue), s).Note = fmt.Sprintf("rcv_nxt %d", tp.rcvNxt)
	k.RetVoid(fnTCPQueueRcv)
}

// tcpEventDataRecv is tcp_event_data_recv(): schedule an ACK
// (inet_csk_schedule_ack) and adapt the delayed-ACK timeout ato to how
// fast data arrives. The first data starts quick-ack mode: the first
// segments are acknowledged at once, to open the sender's window fast.
// A segment of 128 bytes or more may open the offered window further
// (tcp_grow_window).
func (n *Net) tcpEventDataRecv(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	e := k.Call(fnTCPEventDataRecv)
	tp.ackPending = true
	now := k.Now()
	switch m := now - tp.lrcvtime; {
	case tp.ato == 0:
		tp.incrQuickack()
		tp.ato = tcpDelackMinNs
		e.Note = fmt.Sprintf("the first data: quick-ack mode for %d ACKs, ato %d ms", tp.quick, tp.ato/1_000_000)
	case m <= tcpDelackMinNs/2:
		tp.ato = tp.ato/2 + tcpDelackMinNs/2
	case m < tp.ato:
		tp.ato = min(tp.ato/2+m, tp.rto)
	case m > tp.rto:
		tp.incrQuickack()
		e.Note = "a long gap: back to quick-ack mode"
	}
	tp.lrcvtime = now
	tp.rcvRTTMeasure(k)
	if s.Len() >= 128 {
		n.tcpGrowWindow(k, tp, s)
	}
	k.RetVoid(fnTCPEventDataRecv)
}

// tcpGrowWindow is tcp_grow_window(): rcv_ssthresh, the limit on the
// window __tcp_select_window offers, grows while the sender sends
// segments whose payload is worth their buffer memory, so a window is
// only promised that the buffer can hold in skbs like these. A segment
// whose truesize is worth no more window than its length (the scaling
// ratio holds) earns 2 × advmss; a costlier one still earns 2 × rcv_mss
// while rcv_ssthresh is small (__tcp_grow_window); either way at least
// twice its length, and never beyond window_clamp or the free space.
// Growing also asks for a quick ACK, so the peer learns of it. TCP
// memory pressure (tcp_adjust_rcv_ssthresh) is not modelled. The
// model's receive skbs are linear, so truesize_adjust keeps truesize.
func (n *Net) tcpGrowWindow(k *kernel.Kernel, tp *tcpSock, s *skb.SKB) {
	e := k.Call(fnTCPGrowWindow, s)
	defer k.RetVoid(fnTCPGrowWindow)
	room := min(int(tp.windowClamp), tcpSpace(tp)) - int(tp.rcvSsthresh)
	if room <= 0 {
		e.Note = fmt.Sprintf("rcv_ssthresh %d: no room below window_clamp %d and the free space %d", tp.rcvSsthresh, tp.windowClamp, tcpSpace(tp))
		return
	}
	incr := 0
	if winFromSpace(s.Truesize) <= s.Len() {
		incr = 2 * tp.advmss
	} else {
		incr = tp.growWindowSlow(s)
	}
	if incr == 0 {
		e.Note = fmt.Sprintf("rcv_ssthresh stays %d: truesize %d is too much for %d bytes", tp.rcvSsthresh, s.Truesize, s.Len())
		return
	}
	incr = min(max(incr, 2*s.Len()), room)
	old := tp.rcvSsthresh
	tp.rcvSsthresh += uint32(incr)
	tp.quick |= 1
	e.Note = fmt.Sprintf("rcv_ssthresh %d → %d (%d bytes, truesize %d)", old, tp.rcvSsthresh, s.Len(), s.Truesize)
}

// growWindowSlow is __tcp_grow_window(): a segment costlier than the
// scaling ratio assumes still opens the window by 2 × rcv_mss while
// rcv_ssthresh is below the same fraction of tcp_rmem[2]'s window that
// the segment's payload is of its truesize's.
func (tp *tcpSock) growWindowSlow(s *skb.SKB) int {
	truesize := winFromSpace(s.Truesize) >> 1
	window := winFromSpace(tcpRmemMax) >> 1
	for int(tp.rcvSsthresh) <= window {
		if truesize <= s.Len() {
			return 2 * tp.mss
		}
		truesize >>= 1
		window >>= 1
	}
	return 0
}

// tcpMaxQuickacks is TCP_MAX_QUICKACKS.
const tcpMaxQuickacks = 16

// incrQuickack is tcp_incr_quickack(): up to 16 quick ACKs, fewer when
// the window is small.
func (tp *tcpSock) incrQuickack() {
	q := max(int(tp.rcvWnd)/(2*max(tp.advmss, 1)), 2)
	tp.quick = min(max(tp.quick, q), tcpMaxQuickacks)
}

// tcpAckSndCheck is __tcp_ack_snd_check(): ACK now when more than one
// full segment is unacknowledged, in quick-ack mode, or after
// out-of-order data; otherwise delay it (tcp_send_delayed_ack).
func (n *Net) tcpAckSndCheck(k *kernel.Kernel, tp *tcpSock) {
	if !tp.ackPending && !tp.quickAck {
		return
	}
	e := k.Call(fnTCPAckSndCheck)
	switch {
	case tp.quickAck:
		e.Note = "ICSK_ACK_NOW: ACK at once"
		tp.quickAck = false
		n.tcpSendAck(k, tp)
	case tp.quick > 0 && !tp.pingpong:
		e.Note = fmt.Sprintf("quick-ack mode (%d left): ACK at once", tp.quick)
		n.tcpSendAck(k, tp)
	case tp.rcvNxt-tp.rcvWup > uint32(tp.advmss):
		e.Note = "more than one full segment unacknowledged: ACK at once"
		n.tcpSendAck(k, tp)
	default:
		n.tcpSendDelayedAck(k, tp)
	}
	k.RetVoid(fnTCPAckSndCheck)
}

// tcpDataReady is tcp_data_ready() → sk_data_ready (sock_def_readable).
func (n *Net) tcpDataReady(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPDataReady)
	k.Call(fnSockDefReadable).Note = fmt.Sprintf("%d task(s) waiting on %s", tp.sk.Wq.Len(), tp.sk.Wq.Name)
	k.WakeUp(&tp.sk.Wq)
	k.RetVoid(fnSockDefReadable)
	k.RetVoid(fnTCPDataReady)
}

// tcpFin is tcp_fin(): the peer has no more to send. ESTABLISHED becomes
// CLOSE_WAIT; after our own FIN, CLOSING or TIME_WAIT. The FIN is acked
// at once.
func (n *Net) tcpFin(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPFin)
	tp.quickAck = true
	switch tp.state {
	case tcpSynRecv, tcpEstablished:
		tp.setState(k, tcpCloseWait)
	case tcpFinWait1:
		tp.setState(k, tcpClosing)
	case tcpFinWait2:
		n.tcpSendAck(k, tp)
		tp.quickAck = false
		n.tcpTimeWait(k, tp)
	}
	tp.stateChange(k)
	k.RetVoid(fnTCPFin)
}

var fnTCPSendDupack = kernel.NewFn("tcp_send_dupack", tcpInputC, "tcp")

// tcpSendDupack is tcp_send_dupack(): answer a segment outside the
// window with an ACK of where we are (rcv_nxt and the window). Data
// received before means our ACK was lost: quick-ack mode.
func (n *Net) tcpSendDupack(k *kernel.Kernel, tp *tcpSock, in *tcpRcvInfo) {
	e := k.Call(fnTCPSendDupack)
	if in.end != in.seq && int32(in.seq-tp.rcvNxt) < 0 {
		e.Note = "data we already have: our ACK was lost, quick-ack mode"
		tp.quick = tcpMaxQuickacks // tcp_enter_quickack_mode
	}
	n.tcpSendAck(k, tp)
	k.RetVoid(fnTCPSendDupack)
}

// oowRateLimited is tcp_oow_rate_limited(): answers to out-of-window
// segments without data (a window probe, a stray ACK) go out at most
// once per tcp_invalid_ratelimit (500 ms).
func (tp *tcpSock) oowRateLimited(k *kernel.Kernel, in *tcpRcvInfo) bool {
	if in.seq != in.end && in.fl&header.TCPSyn == 0 {
		return false
	}
	if tp.lastOOW != 0 && k.Now()-tp.lastOOW < tcpInvalidRatelimit {
		return true
	}
	tp.lastOOW = k.Now()
	return false
}

var fnTCPAckProbe = kernel.NewFn("tcp_ack_probe", tcpInputC, "tcp")

// tcpAckProbe is tcp_ack_probe(): an ACK with nothing in flight while
// data waits. If the window now takes the first waiting skb, stop
// probing (tcp_data_snd_check will send it); otherwise probe again after
// the backed-off interval.
func (n *Net) tcpAckProbe(k *kernel.Kernel, tp *tcpSock) {
	if len(tp.writeQueue) == 0 {
		return
	}
	e := k.Call(fnTCPAckProbe)
	if int32(tp.writeQueue[0].TCPSkbCB().EndSeq()-(tp.sndUna+tp.sndWnd)) <= 0 {
		e.Note = fmt.Sprintf("the window (%d) is open again: stop probing", tp.sndWnd)
		tp.backoff = 0
		if tp.icskPending == icskTimeProbe0 {
			tp.clearXmitTimer(k)
		}
	} else {
		e.Note = fmt.Sprintf("the window (%d) is still too small", tp.sndWnd)
		n.resetTimer(k, tp, icskTimeProbe0, tp.probe0When())
	}
	k.RetVoid(fnTCPAckProbe)
}

var (
	fnTCPProcessTLPAck  = kernel.NewFn("tcp_process_tlp_ack", tcpInputC, "tcp")
	fnTCPInitCwndReduct = kernel.NewFn("tcp_init_cwnd_reduction", tcpInputC, "tcp")
	fnTCPCwndReduction  = kernel.NewFn("tcp_cwnd_reduction", tcpInputC, "tcp")
)

// tcpProcessTLPAck is tcp_process_tlp_ack(): the first ACK at or beyond
// tlp_high_seq after a tail loss probe. A probe of new data, or a
// duplicate ACK (the original and the probe both arrived), means no
// loss; an ACK beyond tlp_high_seq after a retransmitted probe means the
// probe repaired a loss: cwnd is reduced once (CWR), as for any loss.
func (n *Net) tcpProcessTLPAck(k *kernel.Kernel, tp *tcpSock, ack uint32, unaAdvanced, dataSacked bool) {
	if int32(ack-tp.tlpHighSeq) < 0 {
		return
	}
	e := k.Call(fnTCPProcessTLPAck)
	switch {
	case !tp.tlpRetrans:
		e.Note = "the probe was new data and it is acknowledged"
		tp.tlpHighSeq = 0
	case int32(ack-tp.tlpHighSeq) > 0:
		e.Note = "the retransmitted probe repaired a loss: reduce cwnd (TCP_CA_CWR)"
		n.tcpInitCwndReduction(k, tp)
		tp.ca = caCWR
		n.tcpEndCwndReduction(k, tp)
		tp.ca = caOpen // tcp_try_keep_open
	case !unaAdvanced && !dataSacked:
		e.Note = "a duplicate ACK: the original and the probe both arrived, no loss"
		tp.tlpHighSeq = 0
	}
	k.RetVoid(fnTCPProcessTLPAck)
}

// inCwndReduction is tcp_in_cwnd_reduction(): TCP_CA_CWR or Recovery.
func (tp *tcpSock) inCwndReduction() bool { return tp.ca == caCWR || tp.ca == caRecovery }

// tcpInitCwndReduction is tcp_init_cwnd_reduction(): a loss (or ECN)
// starts a reduction of cwnd to the congestion control's ssthresh,
// spread over the next round trip by PRR; high_seq marks its end.
func (n *Net) tcpInitCwndReduction(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPInitCwndReduct)
	tp.highSeq = tp.sndNxt
	tp.tlpHighSeq = 0
	tp.cwndCnt = 0
	tp.priorCwnd = tp.cwnd
	tp.prrDelivered, tp.prrOut = 0, 0
	tp.ssthresh = tp.cc.ssthresh(tp)
	e.Note = fmt.Sprintf("%s: ssthresh %d; cwnd %d comes down to it over one round trip (PRR)", tp.cc.name(), tp.ssthresh, tp.cwnd)
	k.RetVoid(fnTCPInitCwndReduct)
}

// tcpCwndReduction is tcp_cwnd_reduction(), Proportional Rate Reduction
// (RFC 6937): for every segment delivered, send about ssthresh/prior_cwnd
// of one while more than ssthresh is in flight; below it, grow back
// towards ssthresh no faster than slow start. cwnd is set to what is in
// flight plus what may be sent now; the first call always allows the
// fast retransmit.
func (n *Net) tcpCwndReduction(k *kernel.Kernel, tp *tcpSock, newlyAckedSacked, newlyLost int, unaAdvanced bool) {
	if newlyAckedSacked <= 0 || tp.priorCwnd == 0 {
		return
	}
	e := k.Call(fnTCPCwndReduction)
	inFlight := int(tp.packetsInFlight())
	delta := int(tp.ssthresh) - inFlight
	tp.prrDelivered += newlyAckedSacked
	var sndcnt int
	if delta < 0 {
		sndcnt = (int(tp.ssthresh)*tp.prrDelivered+int(tp.priorCwnd)-1)/int(tp.priorCwnd) - tp.prrOut
	} else {
		sndcnt = max(tp.prrDelivered-tp.prrOut, newlyAckedSacked)
		if unaAdvanced && newlyLost == 0 {
			sndcnt++
		}
		sndcnt = min(delta, sndcnt)
	}
	if tp.prrOut == 0 {
		sndcnt = max(sndcnt, 1)
	}
	sndcnt = max(sndcnt, 0)
	old := tp.cwnd
	tp.cwnd = uint32(inFlight + sndcnt)
	e.Note = fmt.Sprintf("%d delivered (prr_delivered %d, prr_out %d), %d in flight, ssthresh %d: cwnd %d → %d",
		newlyAckedSacked, tp.prrDelivered, tp.prrOut, inFlight, tp.ssthresh, old, tp.cwnd)
	k.RetVoid(fnTCPCwndReduction)
}

// tcpEndCwndReduction is tcp_end_cwnd_reduction(): the reduction is
// over (high_seq acknowledged, or a TLP-detected loss): cwnd = ssthresh.
func (n *Net) tcpEndCwndReduction(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPEndCwndReduct)
	if tp.ssthresh < 0x7fffffff && tp.inCwndReduction() {
		tp.cwnd = tp.ssthresh
		tp.sndCwndStamp = k.Now()
	}
	e.Note = fmt.Sprintf("cwnd = ssthresh %d", tp.ssthresh)
	k.RetVoid(fnTCPEndCwndReduct)
}

var fnTCPPawsDiscard = kernel.NewFn("tcp_paws_discard", tcpInputC, "tcp")

// tcpPawsWindow is TCP_PAWS_WINDOW: the tolerance of the PAWS test, in
// TSval ticks.
const tcpPawsWindow = 1

// tcpPawsDiscard is tcp_paws_discard(), Protection Against Wrapped
// Sequences (RFC 7323): a segment whose TSval is older than ts_recent,
// the newest timestamp seen at the left edge of the window, is an old
// duplicate and must not be accepted, even if its sequence numbers fit.
// A pure duplicate ACK that is merely reordered (tcp_disordered_ack) is
// let through.
func (n *Net) tcpPawsDiscard(k *kernel.Kernel, tp *tcpSock, in *tcpRcvInfo) bool {
	if tp.pawsCheck(k, in.opts.TSVal, tcpPawsWindow) {
		return false
	}
	e := k.Call(fnTCPPawsDiscard)
	// tcp_disordered_ack: a pure ACK at rcv_nxt acknowledging snd_una,
	// not updating the window, within an RTO's worth of ticks.
	disordered := in.fl&header.TCPAck != 0 && in.seq == in.end && in.seq == tp.rcvNxt && in.ack == tp.sndUna &&
		uint32(in.th.Window())<<tp.sndWscale == tp.sndWnd && int64(int32(tp.tsRecent-in.opts.TSVal)) <= tp.rto/1_000_000*1200/1000
	if disordered {
		e.Note = "a reordered duplicate ACK: let through"
	} else {
		e.Note = fmt.Sprintf("TSval %d < ts_recent %d: an old duplicate", in.opts.TSVal, tp.tsRecent)
	}
	return kernel.Ret(k, fnTCPPawsDiscard, !disordered)
}

// pawsCheck is tcp_paws_check(): TSval is not older than ts_recent by
// more than win, or ts_recent is 24 days stale (TCP_PAWS_WRAP) or unset.
func (tp *tcpSock) pawsCheck(k *kernel.Kernel, tsval uint32, win int32) bool {
	return int32(tp.tsRecent-tsval) <= win || k.Now()-tp.tsRecentStamp >= tcpPawsWrapNs || tp.tsRecent == 0
}

// storeTSRecent is tcp_store_ts_recent().
func (tp *tcpSock) storeTSRecent(k *kernel.Kernel, tsval uint32) {
	tp.tsRecent, tp.tsRecentStamp = tsval, k.Now()
}

// tcpPawsWrapNs is TCP_PAWS_WRAP (INT_MAX seconds): after that long a
// ts_recent is too old to compare with.
const tcpPawsWrapNs = int64(1<<31-1) * 1_000_000_000
