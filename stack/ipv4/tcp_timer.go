package ipv4

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

const tcpTimerC = "net/ipv4/tcp_timer.c"

var (
	fnTCPWriteTimer      = kernel.NewFn("tcp_write_timer_handler", tcpTimerC, "tcp")
	fnTCPRetransmitTimer = kernel.NewFn("tcp_retransmit_timer", tcpTimerC, "tcp")
	fnTCPDelackTimer     = kernel.NewFn("tcp_delack_timer_handler", tcpTimerC, "tcp")
)

// tcpWriteTimer is tcp_write_timer(): if a task owns the socket, the
// work waits for release_sock (TCP_WRITE_TIMER_DEFERRED).
func (n *Net) tcpWriteTimer(k *kernel.Kernel, tp *tcpSock) {
	if tp.ownedByUser {
		tp.deferredWrite = true
		k.Event(trace.State, nil).Note = tp.name() + " is owned: TCP_WRITE_TIMER_DEFERRED"
		return
	}
	n.tcpWriteTimerHandler(k, tp)
}

// tcpWriteTimerHandler is tcp_write_timer_handler() →
// tcp_retransmit_timer(): nothing was acknowledged within the RTO. Enter
// the loss state, retransmit the first unacknowledged skb, back off the
// RTO (linearly for the first tcp_syn_linear_timeouts SYNs), and give up
// after tcp_syn_retries (+ the linear ones) for a SYN or tcp_retries2.
func (n *Net) tcpWriteTimerHandler(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPWriteTimer)
	defer k.RetVoid(fnTCPWriteTimer)
	if tp.state == tcpClose || tp.state == tcpListen || tp.icskPending == 0 {
		return
	}
	switch ev := tp.icskPending; ev {
	case icskTimeReoTimeout:
		e.Note = "ICSK_TIME_REO_TIMEOUT"
		n.tcpRackReoTimeout(k, tp)
	case icskTimeLossProbe:
		e.Note = "ICSK_TIME_LOSS_PROBE"
		n.tcpSendLossProbe(k, tp)
	case icskTimeProbe0:
		e.Note = "ICSK_TIME_PROBE0"
		tp.icskPending = 0
		n.tcpProbeTimer(k, tp)
	default:
		e.Note = "ICSK_TIME_RETRANS"
		tp.icskPending = 0
		n.tcpRetransmitTimer(k, tp)
	}
}

var fnTCPProbeTimer = kernel.NewFn("tcp_probe_timer", tcpTimerC, "tcp")

// tcpProbeTimer is tcp_probe_timer(): the zero-window probe timer fired.
// If data is in flight again, or nothing waits, there is nothing to
// probe. The receiver may keep its window closed for ever as long as it
// answers (RFC 1122); tcp_retries2 (15) unanswered probes abort the
// connection (tcp_write_err: -ETIMEDOUT).
func (n *Net) tcpProbeTimer(k *kernel.Kernel, tp *tcpSock) {
	e := k.Call(fnTCPProbeTimer)
	defer k.RetVoid(fnTCPProbeTimer)
	if tp.packetsOut() != 0 || len(tp.writeQueue) == 0 {
		tp.probesOut = 0
		e.Note = "nothing to probe for"
		return
	}
	if tp.probesOut >= tcpRetries2 {
		e.Note = fmt.Sprintf("%d probes unanswered: the connection is dead (-ETIMEDOUT)", tp.probesOut)
		tp.sk.Err = -kernel.ETIMEDOUT
		n.tcpDone(k, tp)
		return
	}
	n.tcpSendProbe0(k, tp)
}

// tcpRetransmitTimer is tcp_retransmit_timer().
func (n *Net) tcpRetransmitTimer(k *kernel.Kernel, tp *tcpSock) {
	if len(tp.rtxQueue) == 0 {
		return
	}
	e := k.Call(fnTCPRetransmitTimer)
	limit := tcpRetries2
	if tp.state == tcpSynSent {
		limit = tcpSynRetries + tcpSynLinearTimeouts
	}
	if tp.retransmits >= limit {
		e.Note = fmt.Sprintf("%d retransmissions unanswered: give up (-ETIMEDOUT)", tp.retransmits)
		tp.sk.Err = -kernel.ETIMEDOUT
		n.tcpDone(k, tp)
	} else {
		n.tcpEnterLoss(k, tp)
		tp.retransmits++
		if tp.state != tcpSynSent || tp.retransmits > tcpSynLinearTimeouts {
			tp.backoff++
			tp.rto = min(tp.rto*2, tcpRTOMaxNs)
		}
		e.Note = fmt.Sprintf("retransmission %d; rto now %.0f ms", tp.retransmits, float64(tp.rto)/1e6)
		n.tcpRetransmitSkb(k, tp, tp.rtxQueue[0])
		n.resetXmitTimer(k, tp)
	}
	k.RetVoid(fnTCPRetransmitTimer)
}

// tcpDelackTimer is tcp_delack_timer(): deferred while the socket is
// owned (TCP_DELACK_TIMER_DEFERRED), else tcp_delack_timer_handler sends
// the delayed ACK.
func (n *Net) tcpDelackTimer(k *kernel.Kernel, tp *tcpSock) {
	if tp.ownedByUser {
		tp.deferredDelack = true
		k.Event(trace.State, nil).Note = tp.name() + " is owned: TCP_DELACK_TIMER_DEFERRED"
		return
	}
	n.tcpDelackTimerHandler(k, tp)
}

func (n *Net) tcpDelackTimerHandler(k *kernel.Kernel, tp *tcpSock) {
	k.Call(fnTCPDelackTimer)
	if tp.ackPending && tp.state != tcpClose {
		n.tcpSendAck(k, tp)
	}
	k.RetVoid(fnTCPDelackTimer)
}

var fnTCPReleaseCb = kernel.NewFn("tcp_release_cb", "net/ipv4/tcp_output.c", "tcp")

// tcpReleaseCb is tcp_release_cb(), run by release_sock: the timer work
// deferred while the task owned the socket.
func (n *Net) tcpReleaseCb(k *kernel.Kernel, tp *tcpSock) {
	if !tp.deferredWrite && !tp.deferredDelack && !tp.deferredTSQ {
		return
	}
	k.Call(fnTCPReleaseCb)
	if tp.deferredTSQ {
		tp.deferredTSQ = false
		n.tcpTsqHandler(k, tp)
	}
	if tp.deferredWrite {
		tp.deferredWrite = false
		n.tcpWriteTimerHandler(k, tp)
	}
	if tp.deferredDelack {
		tp.deferredDelack = false
		n.tcpDelackTimerHandler(k, tp)
	}
	k.RetVoid(fnTCPReleaseCb)
}
