package ipv4

import (
	"fmt"
	"slices"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

// Loss recovery, both halves: the receiver's out-of-order queue and the
// SACK blocks it reports (tcp_input.c), and the sender's SACK scoreboard,
// RACK loss detection (tcp_recovery.c) and fast recovery.

var (
	fnTCPDataQueueOfo   = kernel.NewFn("tcp_data_queue_ofo", tcpInputC, "tcp")
	fnTCPOfoQueue       = kernel.NewFn("tcp_ofo_queue", tcpInputC, "tcp")
	fnTCPSacktag        = kernel.NewFn("tcp_sacktag_write_queue", tcpInputC, "tcp")
	fnTCPRackMarkLost   = kernel.NewFn("tcp_rack_mark_lost", "net/ipv4/tcp_recovery.c", "tcp")
	fnTCPRackReoTimeout = kernel.NewFn("tcp_rack_reo_timeout", "net/ipv4/tcp_recovery.c", "tcp")
	fnTCPFastretrans    = kernel.NewFn("tcp_fastretrans_alert", tcpInputC, "tcp")
	fnTCPEnterRecovery  = kernel.NewFn("tcp_enter_recovery", tcpInputC, "tcp")
	fnTCPEnterLoss      = kernel.NewFn("tcp_enter_loss", tcpInputC, "tcp")
	fnTCPXmitRetransQ   = kernel.NewFn("tcp_xmit_retransmit_queue", tcpOutputC, "tcp")
	fnTCPEndCwndReduct  = kernel.NewFn("tcp_end_cwnd_reduction", tcpInputC, "tcp")
	ofoQueueName        = "out_of_order_queue"
)

// Congestion-avoidance states (icsk_ca_state).
type caState int

const (
	caOpen caState = iota
	caCWR
	caRecovery
	caLoss
)

func (c caState) String() string {
	return [...]string{"TCP_CA_Open", "TCP_CA_CWR", "TCP_CA_Recovery", "TCP_CA_Loss"}[c]
}

// tcpDataQueueOfo is tcp_data_queue_ofo(): keep a segment that arrived
// beyond a hole, in sequence order, and describe what we hold in SACK
// blocks (the newest first) for the next ACK, which goes out at once.
func (n *Net) tcpDataQueueOfo(k *kernel.Kernel, tp *tcpSock, s *skb.SKB, in *tcpRcvInfo) {
	e := k.Call(fnTCPDataQueueOfo, s)
	if s.DataOff() == s.TransportHeader {
		_ = s.Pull(in.th.DataOff())
	}
	seq, end := in.seq, in.seq+uint32(in.dlen)
	s.TCPSkbCB().Set(seq, end, in.fl)
	for _, o := range tp.ofoQueue {
		if oc := o.TCPSkbCB(); int32(oc.Seq()-seq) <= 0 && int32(oc.EndSeq()-end) >= 0 {
			e.Note = "already held out of order: a duplicate"
			core.KfreeSkbReason(k, s, dropTCPOldData)
			tp.quickAck = true
			k.RetVoid(fnTCPDataQueueOfo)
			return
		}
	}
	i, _ := slices.BinarySearchFunc(tp.ofoQueue, seq, func(o *skb.SKB, seq uint32) int { return int(int32(o.TCPSkbCB().Seq() - seq)) })
	tp.ofoQueue = slices.Insert(tp.ofoQueue, i, s)
	tp.sk.RmemAlloc += s.Truesize
	s.Sk, s.Dev = tp.name(), ""
	k.Enqueue(tp.sk.QueueName(ofoQueueName), len(tp.ofoQueue), s).Note = fmt.Sprintf("seq %d-%d held: rcv_nxt is %d", seq, end, tp.rcvNxt)
	if tp.sackOK {
		sackEnd := end
		if in.fl&header.TCPFin != 0 {
			sackEnd++ // the FIN takes a sequence number too
		}
		tp.addSack(seq, sackEnd)
	}
	e.Note = fmt.Sprintf("a hole before seq %d: SACK %v, ACK at once", seq, tp.sacks)
	tp.quickAck = true
	tp.ackPending = true
	k.RetVoid(fnTCPDataQueueOfo)
}

// addSack is tcp_sack_new_ofo_skb(): the block containing the new data
// goes first, merged with any it touches; at most 3 fit with timestamps.
func (tp *tcpSock) addSack(seq, end uint32) {
	var out [][2]uint32
	for _, b := range tp.sacks {
		if int32(b[0]-end) <= 0 && int32(seq-b[1]) <= 0 { // overlaps or touches
			seq, end = min32seq(seq, b[0]), max32seq(end, b[1])
			continue
		}
		out = append(out, b)
	}
	tp.sacks = append([][2]uint32{{seq, end}}, out...)
	if len(tp.sacks) > 3 {
		tp.sacks = tp.sacks[:3]
	}
}

func min32seq(a, b uint32) uint32 {
	if int32(a-b) < 0 {
		return a
	}
	return b
}

func max32seq(a, b uint32) uint32 {
	if int32(a-b) > 0 {
		return a
	}
	return b
}

// tcpOfoQueue is tcp_ofo_queue(): after rcv_nxt moved, move the held
// segments that now follow it onto sk_receive_queue, and forget SACK
// blocks below rcv_nxt (tcp_sack_remove). A filled hole is ACKed at once.
func (n *Net) tcpOfoQueue(k *kernel.Kernel, tp *tcpSock) {
	if len(tp.ofoQueue) == 0 {
		return
	}
	k.Call(fnTCPOfoQueue)
	for len(tp.ofoQueue) > 0 {
		s := tp.ofoQueue[0]
		cb := s.TCPSkbCB()
		if int32(cb.Seq()-tp.rcvNxt) > 0 {
			break
		}
		tp.ofoQueue = tp.ofoQueue[1:]
		k.Dequeue(tp.sk.QueueName(ofoQueueName), len(tp.ofoQueue), s)
		if int32(cb.EndSeq()-tp.rcvNxt) <= 0 {
			tp.sk.RmemAlloc -= s.Truesize
			core.KfreeSkbReason(k, s, dropTCPOldData)
			continue
		}
		if off := int(tp.rcvNxt - cb.Seq()); off > 0 {
			_ = s.Pull(off)
			cb.SetSeq(tp.rcvNxt)
		}
		tp.rcvNxt = cb.EndSeq()
		fin := cb.Flags()&header.TCPFin != 0
		if s.Len() > 0 {
			tp.sk.ReceiveQueue = append(tp.sk.ReceiveQueue, s)
			k.Enqueue(tp.sk.QueueName(receiveQueue), len(tp.sk.ReceiveQueue), s).Note = fmt.Sprintf("from the out-of-order queue; rcv_nxt %d", tp.rcvNxt)
		} else {
			tp.sk.RmemAlloc -= s.Truesize
			core.ConsumeSkb(k, s)
		}
		if fin {
			tp.rcvNxt++
			n.tcpFin(k, tp)
			break
		}
	}
	tp.sacks = slices.DeleteFunc(tp.sacks, func(b [2]uint32) bool { return int32(b[1]-tp.rcvNxt) <= 0 })
	if len(tp.ofoQueue) == 0 {
		tp.quickAck = true // ICSK_ACK_NOW: the hole is filled
	}
	k.RetVoid(fnTCPOfoQueue)
}

// unmark forgets the scoreboard counts of n segments (an skb's pcount)
// leaving the rtx queue or being cut.
func (tp *tcpSock) unmark(sacked uint8, n int) {
	if sacked&skb.TCPCBSackedAcked != 0 {
		tp.sackedOut -= n
	}
	if sacked&skb.TCPCBLost != 0 {
		tp.lostOut -= n
	}
	if sacked&skb.TCPCBSackedRetrans != 0 {
		tp.retransOut -= n
	}
}

// mark counts n segments with the scoreboard bits sacked.
func (tp *tcpSock) mark(sacked uint8, n int) { tp.unmark(sacked, -n) }

// packetsInFlight is tcp_packets_in_flight(): sent, not acknowledged,
// not SACKed, not known lost, plus retransmissions in flight, counted in
// segments (tcp_skb_pcount), not skbs.
func (tp *tcpSock) packetsInFlight() uint32 {
	return uint32(int(tp.packetsOut()) - tp.sackedOut - tp.lostOut + tp.retransOut)
}

// matchSkbToSack is tcp_match_skb_to_sack(): a SACK block that covers
// part of a GSO skb cuts it at the block's edges, rounded to whole
// segments, so that the covered part can be marked on its own.
func (n *Net) matchSkbToSack(k *kernel.Kernel, tp *tcpSock, blocks [][2]uint32) {
	for i := 0; i < len(tp.rtxQueue); i++ {
		s := tp.rtxQueue[i]
		cb := s.TCPSkbCB()
		if pcount(s) < 2 || cb.Sacked()&skb.TCPCBSackedAcked != 0 {
			continue
		}
		for _, b := range blocks {
			for _, edge := range b {
				if int32(edge-cb.Seq()) <= 0 || int32(edge-cb.EndSeq()) >= 0 {
					continue
				}
				// Cut at a segment boundary inside the block.
				off := int(edge - cb.Seq())
				if edge == b[0] {
					off = (off + tp.mss - 1) / tp.mss * tp.mss
				} else {
					off = off / tp.mss * tp.mss
				}
				if off > 0 && off < s.Len() {
					n.tcpFragment(k, tp, i, off)
					cb = s.TCPSkbCB()
				}
			}
		}
	}
}

// tcpSacktag is tcp_sacktag_write_queue(): mark the skbs the peer's SACK
// blocks cover, and feed RACK the most recently sent of them.
func (n *Net) tcpSacktag(k *kernel.Kernel, tp *tcpSock, blocks [][2]uint32) int {
	e := k.Call(fnTCPSacktag)
	n.matchSkbToSack(k, tp, blocks)
	newly := 0
	for _, s := range tp.rtxQueue {
		cb := s.TCPSkbCB()
		if cb.Sacked()&skb.TCPCBSackedAcked != 0 {
			continue
		}
		for _, b := range blocks {
			if int32(cb.Seq()-b[0]) >= 0 && int32(cb.EndSeq()-b[1]) <= 0 {
				sacked := cb.Sacked()
				tp.unmark(sacked&(skb.TCPCBLost|skb.TCPCBSackedRetrans), pcount(s))
				cb.SetSacked(sacked&^(skb.TCPCBLost|skb.TCPCBSackedRetrans) | skb.TCPCBSackedAcked)
				tp.sackedOut += pcount(s)
				newly += pcount(s)
				if s.MstampNs >= tp.rackMstamp {
					tp.rackMstamp, tp.rackEndSeq = s.MstampNs, cb.EndSeq()
					if sacked&skb.TCPCBEverRetrans == 0 {
						tp.rackRTT = k.Now() - s.MstampNs
					}
				}
				break
			}
		}
	}
	e.Note = fmt.Sprintf("SACK %v: %d segment(s) newly SACKed, sacked_out %d", blocks, newly, tp.sackedOut)
	k.RetS(fnTCPSacktag, fmt.Sprint(newly))
	return newly
}

// tcpRackMarkLost is tcp_rack_mark_lost() → tcp_rack_detect_loss(): a
// segment sent before one that was delivered is lost once it is later
// than that delivery by more than the reordering window: a quarter of
// the minimum RTT (at most srtt), or none in recovery or with three
// segments SACKed (the old dupthresh rule). For segments not yet that
// late, the retransmit timer is armed as ICSK_TIME_REO_TIMEOUT; it
// reports how many segments it marked and whether it armed the timer.
func (n *Net) tcpRackMarkLost(k *kernel.Kernel, tp *tcpSock) (int, bool) {
	if tp.rackMstamp == 0 {
		return 0, false
	}
	e := k.Call(fnTCPRackMarkLost)
	marked, wait, reo := tp.rackDetectLoss(k)
	e.Note = fmt.Sprintf("reordering window %d us: %d segment(s) marked lost, lost_out %d", reo/1000, marked, tp.lostOut)
	if wait > 0 {
		e.Note += fmt.Sprintf("; check again in %d us", wait/1000)
		n.resetTimer(k, tp, icskTimeReoTimeout, wait+tcpTimeoutMinUs*1000)
	}
	k.RetVoid(fnTCPRackMarkLost)
	return marked, wait > 0
}

// tcpTimeoutMinUs is TCP_TIMEOUT_MIN_US.
const tcpTimeoutMinUs = 2000

// rackDetectLoss is tcp_rack_detect_loss(): mark what RACK finds lost;
// it reports how many segments, how long until the next one may be
// (0: none waits), and the reordering window it used (tcp_rack_reo_wnd;
// reordering is never seen in the model, so the window is not widened).
func (tp *tcpSock) rackDetectLoss(k *kernel.Kernel) (marked int, wait, reo int64) {
	if tp.ca < caRecovery && tp.sackedOut < tcpReordering {
		reo = min(tp.minRTT/4, tp.srtt>>3) * 1000
	}
	for _, s := range tp.rtxQueue {
		cb := s.TCPSkbCB()
		if cb.Sacked()&(skb.TCPCBSackedAcked|skb.TCPCBLost) != 0 || s.MstampNs > tp.rackMstamp ||
			s.MstampNs == tp.rackMstamp && int32(cb.EndSeq()-tp.rackEndSeq) >= 0 {
			continue
		}
		if cb.Sacked()&skb.TCPCBSackedRetrans != 0 && s.MstampNs >= tp.rackMstamp {
			continue
		}
		remaining := tp.rackRTT + reo - (k.Now() - s.MstampNs)
		if remaining <= 0 {
			if cb.Sacked()&skb.TCPCBSackedRetrans != 0 {
				tp.retransOut -= pcount(s)
			}
			cb.SetSacked(cb.Sacked()&^skb.TCPCBSackedRetrans | skb.TCPCBLost)
			tp.lostOut += pcount(s)
			marked += pcount(s)
		} else if wait == 0 || remaining < wait {
			wait = remaining
		}
	}
	return marked, wait, reo
}

// tcpRackReoTimeout is tcp_rack_reo_timeout() (ICSK_TIME_REO_TIMEOUT):
// the reordering window passed; whatever is still missing is lost: enter
// recovery (with one PRR step) if not in it, and retransmit; then the
// RTO again.
func (n *Net) tcpRackReoTimeout(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPRackReoTimeout)
	prior := tp.packetsInFlight()
	marked, _, _ := tp.rackDetectLoss(k)
	e.Note = fmt.Sprintf("%d segment(s) now lost", marked)
	if tp.packetsInFlight() != prior {
		if tp.ca != caRecovery {
			n.tcpEnterRecovery(k, tp)
			n.tcpCwndReduction(k, tp, 1, marked, false)
		}
		n.tcpXmitRetransmitQueue(k, tp)
	}
	if tp.icskPending != icskTimeRetrans {
		n.tcpRearmRTO(k, tp)
	}
	k.RetVoid(fnTCPRackReoTimeout)
}

// tcpFastretransAlert is tcp_fastretrans_alert(): leave CWR, recovery or
// loss once everything sent before it began (high_seq) is acknowledged
// (CWR and recovery end with cwnd = ssthresh, tcp_end_cwnd_reduction;
// loss keeps slow-starting); with segments known lost, enter recovery
// (once). It reports whether lost segments wait to be retransmitted
// (REXMIT_LOST), which tcp_ack does after PRR has set cwnd.
func (n *Net) tcpFastretransAlert(k *kernel.Kernel, tp *tcpSock) bool {
	e := k.Call(fnTCPFastretrans)
	if tp.ca != caOpen && int32(tp.sndUna-tp.highSeq) >= 0 {
		old := tp.ca
		if tp.inCwndReduction() {
			n.tcpEndCwndReduction(k, tp)
		}
		tp.ca = caOpen
		tp.cc.reset()
		e.Note = fmt.Sprintf("everything before high_seq %d is acknowledged: %s → %s; ", tp.highSeq, old, caOpen)
	}
	if tp.ca != caRecovery && tp.ca != caLoss && tp.lostOut > 0 {
		n.tcpEnterRecovery(k, tp)
	}
	e.Note += fmt.Sprintf("%s, cwnd %d, in flight %d, lost %d, sacked %d", tp.ca, tp.cwnd, tp.packetsInFlight(), tp.lostOut, tp.sackedOut)
	k.RetVoid(fnTCPFastretrans)
	return tp.lostOut > 0
}

// tcpEnterRecovery is tcp_enter_recovery(): fast recovery. Unless cwnd
// is already being reduced (CWR), tcp_init_cwnd_reduction takes ssthresh
// from the congestion control; PRR (tcp_cwnd_reduction) brings cwnd down
// to it as ACKs come, instead of at once.
func (n *Net) tcpEnterRecovery(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPEnterRecovery)
	if !tp.inCwndReduction() {
		n.tcpInitCwndReduction(k, tp)
	}
	tp.ca = caRecovery
	e.Note = fmt.Sprintf("%s: ssthresh %d, cwnd %d, recovery ends at high_seq %d", tp.cc.name(), tp.ssthresh, tp.cwnd, tp.highSeq)
	k.RetVoid(fnTCPEnterRecovery)
}

// tcpEnterLoss is tcp_enter_loss(): the RTO fired. Every segment not
// SACKed is presumed lost; cwnd restarts from one segment.
func (n *Net) tcpEnterLoss(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPEnterLoss)
	if tp.ca != caLoss {
		tp.ssthresh = tp.cc.ssthresh(tp)
	}
	tp.cwnd = 1
	tp.cwndCnt = 0
	tp.ca = caLoss
	tp.highSeq = tp.sndNxt
	tp.tlpHighSeq = 0
	for _, s := range tp.rtxQueue {
		cb := s.TCPSkbCB()
		sacked := cb.Sacked()
		if sacked&skb.TCPCBSackedAcked != 0 {
			continue
		}
		if sacked&skb.TCPCBSackedRetrans != 0 {
			tp.retransOut -= pcount(s)
		}
		if sacked&skb.TCPCBLost == 0 {
			tp.lostOut += pcount(s)
		}
		cb.SetSacked(sacked&^skb.TCPCBSackedRetrans | skb.TCPCBLost)
	}
	e.Note = fmt.Sprintf("every unSACKed segment is lost (%d); cwnd 1, ssthresh %d", tp.lostOut, tp.ssthresh)
	k.RetVoid(fnTCPEnterLoss)
}

// tcpXmitRetransmitQueue is tcp_xmit_retransmit_queue(): retransmit lost
// segments, oldest first, while the congestion window has room.
func (n *Net) tcpXmitRetransmitQueue(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPXmitRetransQ)
	sent := 0
	for i := 0; i < len(tp.rtxQueue); i++ { // tcp_retransmit_skb may cut the skb
		s := tp.rtxQueue[i]
		if tp.packetsInFlight() >= tp.cwnd {
			break
		}
		cb := s.TCPSkbCB()
		if cb.Sacked()&skb.TCPCBLost == 0 || cb.Sacked()&skb.TCPCBSackedRetrans != 0 {
			continue
		}
		n.tcpRetransmitSkb(k, tp, s)
		if tp.inCwndReduction() {
			tp.prrOut += pcount(s)
		}
		sent++
	}
	e.Note = fmt.Sprintf("%d segment(s) retransmitted", sent)
	if sent > 0 && tp.icskPending != icskTimeRetrans {
		n.resetXmitTimer(k, tp)
	}
	k.RetVoid(fnTCPXmitRetransQ)
}
