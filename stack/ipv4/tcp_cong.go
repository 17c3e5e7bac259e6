package ipv4

import (
	"fmt"

	"skbscope/stack/kernel"
)

// congOps is struct tcp_congestion_ops: how cwnd grows (cong_avoid) and
// where it falls back to after a loss (ssthresh).
type congOps interface {
	name() string
	congAvoid(k *kernel.Kernel, tp *tcpSock, acked uint32) string
	ssthresh(tp *tcpSock) uint32
	reset() // a new epoch after a loss
}

// slowStart is tcp_slow_start(): one segment per segment acknowledged,
// up to ssthresh; it returns the acks left over.
func slowStart(tp *tcpSock, acked uint32) uint32 {
	cwnd := min(tp.cwnd+acked, tp.ssthresh)
	acked -= cwnd - tp.cwnd
	tp.cwnd = cwnd
	return acked
}

// reno is tcp_reno: additive increase, multiplicative decrease by half.
type reno struct{ cnt uint32 }

func (*reno) name() string { return "reno" }
func (*reno) reset()       {}

// congAvoid is tcp_reno_cong_avoid(): slow start, then one segment per
// window of ACKs (tcp_cong_avoid_ai).
func (r *reno) congAvoid(k *kernel.Kernel, tp *tcpSock, acked uint32) string {
	if tp.cwnd < tp.ssthresh {
		if acked = slowStart(tp, acked); acked == 0 {
			return "slow start"
		}
	}
	r.cnt += acked
	if r.cnt >= tp.cwnd {
		r.cnt -= tp.cwnd
		tp.cwnd++
	}
	return "congestion avoidance (Reno: +1 segment per RTT)"
}

// ssthresh is tcp_reno_ssthresh(): half the window.
func (*reno) ssthresh(tp *tcpSock) uint32 { return max(tp.cwnd>>1, 2) }

// cubic is tcp_cubic, Linux's default: after a loss the window grows
// along a cubic curve in time, centred on the window where the loss
// happened (W_max), so it regains it quickly, probes gently around it,
// and then accelerates (RFC 8312).
type cubic struct {
	lastMaxCwnd uint32 // W_max
	epochStart  int64  // ns; 0: no epoch yet
	originPoint uint32
	k           int64 // ms until the curve reaches origin
	cnt         uint32
	ackCnt      uint32
	tcpCwnd     uint32 // what Reno would have (TCP friendliness)
}

// CUBIC's constants: beta 717/1024 (about 0.7), C = 0.4, and the
// friendliness scale 8 (1 + beta) / 3 (1 - beta) = 15.
const (
	cubicBeta      = 717
	cubicBetaScale = 1024
	cubicFriendly  = 8 * (cubicBetaScale + cubicBeta) / (3 * (cubicBetaScale - cubicBeta))
)

func (*cubic) name() string { return "cubic" }

func (c *cubic) reset() { c.epochStart = 0 }

// ssthresh is cubictcp_recalc_ssthresh(): remember W_max (with fast
// convergence, a little less when the window was still shrinking) and
// back off to 0.7 of it.
func (c *cubic) ssthresh(tp *tcpSock) uint32 {
	c.epochStart = 0
	if tp.cwnd < c.lastMaxCwnd {
		c.lastMaxCwnd = tp.cwnd * (cubicBetaScale + cubicBeta) / (2 * cubicBetaScale)
	} else {
		c.lastMaxCwnd = tp.cwnd
	}
	return max(tp.cwnd*cubicBeta/cubicBetaScale, 2)
}

// icbrt is an integer cube root.
func icbrt(x int64) int64 {
	lo, hi := int64(0), int64(1)
	for hi*hi*hi <= x {
		hi *= 2
	}
	for lo < hi-1 {
		m := (lo + hi) / 2
		if m*m*m <= x {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// congAvoid is cubictcp_cong_avoid() → bictcp_update(): the target
// window W(t) = C (t - K)^3 + W_max, reached by growing cwnd one segment
// every cnt ACKs; never slower than Reno would be.
func (c *cubic) congAvoid(k *kernel.Kernel, tp *tcpSock, acked uint32) string {
	if tp.cwnd < tp.ssthresh {
		if acked = slowStart(tp, acked); acked == 0 {
			return "slow start"
		}
	}
	now := k.Now()
	c.ackCnt += acked
	if c.epochStart == 0 {
		c.epochStart = now
		c.ackCnt = acked
		c.tcpCwnd = tp.cwnd
		if c.lastMaxCwnd <= tp.cwnd {
			c.k, c.originPoint = 0, tp.cwnd
		} else {
			// K = cbrt(W_max (1 - beta) / C), in ms: with C = 0.4,
			// (W_max - cwnd) / 0.4 segments, cube-rooted, in seconds.
			c.k = icbrt(int64(c.lastMaxCwnd-tp.cwnd) * 1e9 * 10 / 4) // ms^3 scale
			c.originPoint = c.lastMaxCwnd
		}
	}
	t := (now-c.epochStart)/1_000_000 + tp.srtt>>3/1000 // ms, plus one min RTT ahead
	offs := min(max(t-c.k, c.k-t), 1_000_000)           // |t - K|, at most 1000 s

	// delta = C * offs^3, offs in ms → segments: 0.4 * offs^3 / 1e9
	delta := uint32(min(4*offs*offs*offs/10/1_000_000_000, 1<<20))
	target := c.originPoint + delta
	if t < c.k {
		target = c.originPoint - min(delta, c.originPoint)
	}
	if target > tp.cwnd {
		c.cnt = tp.cwnd / (target - tp.cwnd)
	} else {
		c.cnt = 100 * tp.cwnd
	}
	if c.lastMaxCwnd == 0 && c.cnt > 20 {
		c.cnt = 20
	}
	// TCP friendliness: what Reno (with CUBIC's beta) would have now; it
	// gains a segment every cwnd * betaScale / 8 ACKs.
	if per := tp.cwnd * cubicFriendly >> 3; per > 0 {
		for c.ackCnt > per {
			c.ackCnt -= per
			c.tcpCwnd++
		}
	}
	if c.tcpCwnd > tp.cwnd {
		c.cnt = min(c.cnt, tp.cwnd/(c.tcpCwnd-tp.cwnd))
	}
	c.cnt = max(c.cnt, 2)
	// tcp_cong_avoid_ai(tp, cnt, acked)
	if tp.cwndCnt += acked; tp.cwndCnt >= c.cnt {
		tp.cwnd += tp.cwndCnt / c.cnt
		tp.cwndCnt %= c.cnt
	}
	return fmt.Sprintf("congestion avoidance (CUBIC: W_max %d, K %d ms, target %d, +1 per %d ACKs)", c.lastMaxCwnd, c.k, target, c.cnt)
}

// newCongOps is tcp_assign_congestion_control(): the host's default,
// net.ipv4.tcp_congestion_control.
func (n *Net) newCongOps() congOps {
	if n.TCPCongestion == "reno" {
		return &reno{}
	}
	return &cubic{}
}
