package ipv4

import (
	"fmt"

	"skbscope/stack/kernel"
)

const tcpTimerC = "net/ipv4/tcp_timer.c"

var (
	fnTCPWriteTimer      = kernel.NewFn("tcp_write_timer_handler", tcpTimerC, "tcp")
	fnTCPRetransmitTimer = kernel.NewFn("tcp_retransmit_timer", tcpTimerC, "tcp")
	fnTCPDelackTimer     = kernel.NewFn("tcp_delack_timer_handler", tcpTimerC, "tcp")
)

// tcpWriteTimer is tcp_write_timer() → tcp_write_timer_handler() →
// tcp_retransmit_timer(): nothing was acknowledged within the RTO.
// Retransmit the first unacknowledged skb, double the RTO (backoff),
// and give up after tcp_syn_retries (SYN) or tcp_retries2 attempts.
func (n *Net) tcpWriteTimer(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPWriteTimer)
	if tp.ownedByUser || len(tp.rtxQueue) == 0 {
		k.RetVoid(fnTCPWriteTimer)
		return
	}
	e := k.Call(fnTCPRetransmitTimer)
	limit := tcpRetries2
	if tp.state == tcpSynSent {
		limit = tcpSynRetries
	}
	if tp.retransmits >= limit {
		e.Note = fmt.Sprintf("%d retransmissions unanswered: give up (-ETIMEDOUT)", tp.retransmits)
		tp.sk.Err = -kernel.ETIMEDOUT
		n.tcpDone(k, tp)
	} else {
		n.tcpEnterLoss(k, tp)
		tp.retransmits++
		tp.backoff++
		tp.rto = min(tp.rto*2, tcpRTOMaxNs)
		e.Note = fmt.Sprintf("retransmission %d; rto doubled to %.0f ms", tp.retransmits, float64(tp.rto)/1e6)
		n.tcpRetransmitSkb(k, tp, tp.rtxQueue[0])
		n.resetXmitTimer(k, tp)
	}
	k.RetVoid(fnTCPRetransmitTimer)
	k.RetVoid(fnTCPWriteTimer)
}

// tcpDelackTimer is tcp_delack_timer() → tcp_delack_timer_handler(): the
// delayed ACK is due; send it (tcp_send_ack).
func (n *Net) tcpDelackTimer(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPDelackTimer)
	if tp.ackPending && tp.state != tcpClose {
		n.tcpSendAck(k, tp)
	}
	k.RetVoid(fnTCPDelackTimer)
}
