package core

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

// DQL is struct dql (include/linux/dynamic_queue_limits.h), byte queue
// limits for one TX queue: how many bytes the driver may have in its ring
// before the stack stops feeding it. The limit starts at zero and adapts
// on every completion: it grows when the NIC ran dry while the stack held
// bytes back (starvation), and shrinks by the smallest slack seen over a
// second when the ring always had more than it needed.
type DQL struct {
	NumQueued    uint32 // bytes handed to the driver, ever
	NumCompleted uint32 // bytes the driver reported done, ever
	AdjLimit     uint32 // limit + num_completed: num_queued may reach this
	Limit        uint32 // the current limit in bytes
	MinLimit     uint32
	MaxLimit     uint32

	lastObjCnt     uint32
	prevOvlimit    uint32
	prevNumQueued  uint32
	prevLastObjCnt uint32
	lowestSlack    uint32
	slackStart     int64 // ns
	slackHold      int64 // ns: slack_hold_time, HZ (one second)
}

// dqlMaxLimit is DQL_MAX_LIMIT on a 32-bit counter.
const dqlMaxLimit = (1<<32-1)/2 - (1<<32-1)/16

// dqlInit is dql_init(&queue->dql, HZ) from netdev_init_one_queue.
func (q *DQL) dqlInit(holdNs int64) {
	*q = DQL{MaxLimit: dqlMaxLimit, slackHold: holdNs, lowestSlack: ^uint32(0)}
}

// queued is dql_queued(): count bytes given to the hardware.
func (q *DQL) queued(n uint32) {
	q.lastObjCnt = n
	q.NumQueued += n
}

// Avail is dql_avail(): how many more bytes may be queued; negative when
// over the limit.
func (q *DQL) Avail() int { return int(int32(q.AdjLimit - q.NumQueued)) }

// Inflight is num_queued - num_completed: bytes in the ring.
func (q *DQL) Inflight() uint32 { return q.NumQueued - q.NumCompleted }

func posdiff(a, b uint32) uint32 {
	if int32(a-b) > 0 {
		return a - b
	}
	return 0
}

// completed is dql_completed(), the adaptive part, in the model's words:
// if the queue went empty while over the limit, or everything queued at
// the last completion is now done while the last round was over the
// limit, the hardware starved and the limit grows by what was queued
// since plus the previous overshoot. If instead bytes remain in flight
// both now and from before, the limit may be too big: remember the
// smallest slack (limit minus twice what completed) and, once it has
// held for slack_hold_time, take it off.
func (q *DQL) completed(now int64, count uint32) string {
	numQueued := q.NumQueued
	completed := q.NumCompleted + count
	limit := q.Limit
	ovlimit := posdiff(numQueued-q.NumCompleted, limit)
	inprogress := numQueued != completed
	prevInprogress := q.prevNumQueued != q.NumCompleted
	allPrevCompleted := int32(completed-q.prevNumQueued) >= 0
	why := "limit kept"
	switch {
	case ovlimit != 0 && !inprogress || q.prevOvlimit != 0 && allPrevCompleted:
		limit += posdiff(completed, q.prevNumQueued) + q.prevOvlimit
		q.slackStart = now
		q.lowestSlack = ^uint32(0)
		why = "the ring ran dry while the stack was held back: limit grows"
	case inprogress && prevInprogress && !allPrevCompleted:
		slack := posdiff(limit+q.prevOvlimit, 2*(completed-q.NumCompleted))
		var lastObjs uint32
		if q.prevOvlimit != 0 {
			lastObjs = posdiff(q.prevLastObjCnt, q.prevOvlimit)
		}
		slack = max(slack, lastObjs)
		q.lowestSlack = min(q.lowestSlack, slack)
		if now > q.slackStart+q.slackHold {
			limit = posdiff(limit, q.lowestSlack)
			q.slackStart = now
			q.lowestSlack = ^uint32(0)
			why = "more than needed was in flight for a whole second: limit shrinks by the slack"
		}
	}
	limit = min(max(limit, q.MinLimit), q.MaxLimit)
	if limit != q.Limit {
		q.Limit = limit
		ovlimit = 0
	}
	q.AdjLimit = limit + completed
	q.prevOvlimit = ovlimit
	q.prevLastObjCnt = q.lastObjCnt
	q.NumCompleted = completed
	q.prevNumQueued = numQueued
	return why
}

var (
	fnNetdevTxSentQueue      = kernel.NewFn("netdev_tx_sent_queue", "include/linux/netdevice.h", "dev")
	fnNetdevTxCompletedQueue = kernel.NewFn("netdev_tx_completed_queue", "include/linux/netdevice.h", "dev")
	fnDqlCompleted           = kernel.NewFn("dql_completed", "lib/dynamic_queue_limits.c", "dev")
)

func (d *Device) bqlVals() []trace.Field {
	q := &d.DQL
	return []trace.Field{{Name: "bql_limit", Value: fmt.Sprint(q.Limit)}, {Name: "bql_inflight", Value: fmt.Sprint(q.Inflight())}, {Name: "stack_xoff", Value: fmt.Sprint(d.stackXoff)}}
}

// NetdevTxSentQueue is netdev_tx_sent_queue(), which a BQL driver calls
// from ndo_start_xmit: account the bytes, and when the queue is now over
// its limit set __QUEUE_STATE_STACK_XOFF so the qdisc stops dequeuing.
func (d *Device) NetdevTxSentQueue(k *kernel.Kernel, bytes int) {
	e := k.Call(fnNetdevTxSentQueue)
	q := &d.DQL
	q.queued(uint32(bytes))
	if q.Avail() >= 0 {
		e.Note = fmt.Sprintf("dql_queued(%d): %d bytes in flight, limit %d: room left", bytes, q.Inflight(), q.Limit)
	} else {
		d.stackXoff = true
		e.Note = fmt.Sprintf("dql_queued(%d): %d bytes in flight, over the limit %d: __QUEUE_STATE_STACK_XOFF set, the stack stops feeding %s", bytes, q.Inflight(), q.Limit, d.Name)
	}
	k.RetS(fnNetdevTxSentQueue, "").Vals = d.bqlVals()
}

// NetdevTxCompletedQueue is netdev_tx_completed_queue(), called from the
// driver's TX clean: dql_completed adapts the limit; if the queue is
// under it again and BQL had stopped it, clear STACK_XOFF and schedule
// the qdisc (netif_schedule_queue).
func (d *Device) NetdevTxCompletedQueue(k *kernel.Kernel, pkts, bytes int) {
	if bytes == 0 {
		return
	}
	e := k.Call(fnNetdevTxCompletedQueue)
	e.Note = fmt.Sprintf("%d packets, %d bytes done", pkts, bytes)
	q := &d.DQL
	old := q.Limit
	de := k.Call(fnDqlCompleted)
	why := q.completed(k.Now(), uint32(bytes))
	de.Note = fmt.Sprintf("limit %d → %d (%s); %d bytes still in flight", old, q.Limit, why, q.Inflight())
	k.RetS(fnDqlCompleted, "").Vals = d.bqlVals()
	if q.Avail() >= 0 && d.stackXoff {
		d.stackXoff = false
		k.Note(trace.State, d.Name+" txq: under the BQL limit again, __QUEUE_STATE_STACK_XOFF cleared")
		if !d.txqStopped {
			d.Net.NetifSchedule(k, d)
		}
	}
	k.RetVoid(fnNetdevTxCompletedQueue)
}

// NetdevTxResetQueue is netdev_tx_reset_queue(): forget the BQL state and
// clear STACK_XOFF, as a driver does when it cleans its ring on down.
func (d *Device) NetdevTxResetQueue() {
	d.stackXoff = false
	d.DQL.dqlInit(kernel.Jiffy * 250)
}
