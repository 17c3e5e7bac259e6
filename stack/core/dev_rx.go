package core

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// The receive half of net/core/dev.c: NAPI, the NET_RX and NET_TX
// softirqs, and the hand-off from the device to the protocols.

var (
	fnNapiSchedulePrep  = kernel.NewFn("napi_schedule_prep", devC, "napi")
	fnNapiSchedule      = kernel.NewFn("__napi_schedule", devC, "napi")
	fnNetRxAction       = kernel.NewFn("net_rx_action", devC, "napi")
	fnNapiPoll          = kernel.NewFn("__napi_poll", devC, "napi")
	fnNapiCompleteDone  = kernel.NewFn("napi_complete_done", devC, "napi")
	fnNetifRcvListInt   = kernel.NewFn("netif_receive_skb_list_internal", devC, "dev")
	fnNetifRcvListCore  = kernel.NewFn("__netif_receive_skb_list_core", devC, "dev")
	fnNetifRcvCore      = kernel.NewFn("__netif_receive_skb_core", devC, "dev")
	fnDeliverSkb        = kernel.NewFn("deliver_skb", devC, "dev")
	fnNetifRcvListPtype = kernel.NewFn("__netif_receive_skb_list_ptype", devC, "dev")
	fnNetTxAction       = kernel.NewFn("net_tx_action", devC, "qdisc")
	fnNetifSchedule     = kernel.NewFn("__netif_schedule", devC, "qdisc")
	fnNetifTxWakeQueue  = kernel.NewFn("netif_tx_wake_queue", devC, "driver")
	fnDevKfreeSkbAnyRsn = kernel.NewFn("dev_kfree_skb_any_reason", devC, "driver")
	fnDevKfreeSkbIrqRsn = kernel.NewFn("dev_kfree_skb_irq_reason", devC, "driver")
	fnNapiKfreeSkb      = kernel.NewFn("__napi_kfree_skb", skbuffC, "skb")
	completionQueueName = "softnet_data completion_queue"
	dropUnhandledProto  = skb.Reason("SKB_DROP_REASON_UNHANDLED_PROTO")
	pollListQueue       = "softnet_data poll_list"
	outputQueueName     = "softnet_data output_queue"
	napiRxListQueue     = "napi rx_list (GRO normal)"
)

// NAPI is struct napi_struct: a driver's poll routine and its state.
type NAPI struct {
	Dev    *Device
	Weight int
	// Poll is the driver's poll (e1000e_poll): it does at most budget
	// packets of work and returns how many.
	Poll      func(k *kernel.Kernel, n *NAPI, budget int) int
	scheduled bool // NAPI_STATE_SCHED
	missed    bool // NAPI_STATE_MISSED
	rxList    []*skb.SKB
}

// NapiSchedule is napi_schedule(): napi_schedule_prep, then
// __napi_schedule if the NAPI was not already scheduled.
func (n *Net) NapiSchedule(k *kernel.Kernel, napi *NAPI) bool {
	k.Call(fnNapiSchedulePrep)
	if napi.scheduled {
		napi.missed = true
		k.Note(trace.State, "NAPI already scheduled: NAPI_STATE_MISSED set instead")
		return kernel.Ret(k, fnNapiSchedulePrep, false)
	}
	napi.scheduled = true
	kernel.Ret(k, fnNapiSchedulePrep, true)
	n.napiScheduleInner(k, napi)
	return true
}

// napiScheduleInner is __napi_schedule() → ____napi_schedule(): join the
// poll list and raise NET_RX, unless net_rx_action is already running here
// (it re-checks the list before it ends).
func (n *Net) napiScheduleInner(k *kernel.Kernel, napi *NAPI) {
	k.Call(fnNapiSchedule)
	sd := n.Softnet(k)
	sd.pollList = append(sd.pollList, napi)
	e := k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen, e.Note = pollListQueue, len(sd.pollList), fmt.Sprintf("NAPI_STATE_SCHED set: %s joins this CPU's poll_list", napi.Dev.Name)
	if !sd.inNetRxAction {
		k.RaiseSoftirqIrqoff(kernel.NetRxSoftirq)
	}
	k.RetVoid(fnNapiSchedule)
}

// netRxAction is net_rx_action(), the NET_RX softirq: poll each
// scheduled NAPI until the list is empty or the budget (300 packets) or
// the time limit runs out.
func (n *Net) netRxAction(k *kernel.Kernel) {
	k.Call(fnNetRxAction).Note = fmt.Sprintf("netdev_budget %d, time limit 2 jiffies", NetdevBudget)
	sd := n.Softnet(k)
	budget := NetdevBudget
	limit := k.Now() + netRxTimeLimitNs
	var repoll []*NAPI
	sd.inNetRxAction = true
	for {
		if len(sd.pollList) == 0 {
			break
		}
		napi := sd.pollList[0]
		sd.pollList = sd.pollList[1:]
		k.Dequeue(pollListQueue, len(sd.pollList), nil)
		work, again := n.napiPoll(k, napi, budget)
		budget -= work
		if again {
			repoll = append(repoll, napi)
		}
		if budget <= 0 || k.Now() > limit {
			if len(sd.pollList)+len(repoll) > 0 {
				sd.TimeSqueeze++
				k.Note(trace.State, fmt.Sprintf("budget or time used up with work left: time_squeeze %d; NET_RX raised again", sd.TimeSqueeze))
			}
			break
		}
		if len(sd.pollList) == 0 && len(repoll) > 0 {
			sd.pollList, repoll = repoll, nil
		}
	}
	sd.inNetRxAction = false
	sd.pollList = append(repoll, sd.pollList...)
	if len(sd.pollList) > 0 {
		k.RaiseSoftirqIrqoff(kernel.NetRxSoftirq)
	}
	k.RetVoid(fnNetRxAction)
}

// napiPoll is napi_poll() → __napi_poll(): call the driver's poll with
// the NAPI's weight. A poll that used its whole weight stays scheduled.
func (n *Net) napiPoll(k *kernel.Kernel, napi *NAPI, budget int) (int, bool) {
	e := k.Call(fnNapiPoll)
	e.Note = fmt.Sprintf("budget %d left of netdev_budget %d", budget, NetdevBudget)
	weight := napi.Weight
	work := napi.Poll(k, napi, weight)
	again := false
	if work >= weight && napi.scheduled {
		k.Note(trace.State, fmt.Sprintf("used the whole weight %d: stay on the poll list", weight))
		n.groNormalList(k, napi)
		again = true
	}
	kernel.Ret(k, fnNapiPoll, kernel.Err(work))
	return work, again
}

// NapiCompleteDone is napi_complete_done(): hand the batched packets up,
// and leave polling mode unless an interrupt came meanwhile (MISSED).
func (n *Net) NapiCompleteDone(k *kernel.Kernel, napi *NAPI, work int) bool {
	k.Call(fnNapiCompleteDone).Note = fmt.Sprintf("%d packets < weight %d: polling is over, the driver re-enables its interrupt", work, napi.Weight)
	n.groNormalList(k, napi)
	napi.scheduled = false
	if napi.missed {
		napi.missed = false
		napi.scheduled = true
		n.napiScheduleInner(k, napi)
		return kernel.Ret(k, fnNapiCompleteDone, false)
	}
	return kernel.Ret(k, fnNapiCompleteDone, true)
}

// netifReceiveSkbListInternal is netif_receive_skb_list_internal() →
// __netif_receive_skb_list (no RPS here) → __netif_receive_skb_list_core:
// run each skb through __netif_receive_skb_core, then give each protocol
// its packets as one list.
func (n *Net) netifReceiveSkbListInternal(k *kernel.Kernel, list []*skb.SKB) {
	k.Call(fnNetifRcvListInt, list...)
	k.Call(fnNetifRcvListCore, list...)
	type sub struct {
		h    PacketHandler
		dev  *Device
		skbs []*skb.SKB
	}
	var subs []*sub
	for _, s := range list {
		h, dev := n.netifReceiveSkbCore(k, s)
		if h == nil {
			continue
		}
		if l := len(subs); l > 0 && subs[l-1].h == h && subs[l-1].dev == dev {
			subs[l-1].skbs = append(subs[l-1].skbs, s)
			continue
		}
		subs = append(subs, &sub{h: h, dev: dev, skbs: []*skb.SKB{s}})
	}
	for _, sl := range subs {
		k.Call(fnNetifRcvListPtype, sl.skbs...).Note = fmt.Sprintf("%d skb(s) for this handler, as a list", len(sl.skbs))
		sl.h.ListRcv(k, sl.skbs, sl.dev)
		k.RetVoid(fnNetifRcvListPtype)
	}
	k.RetVoid(fnNetifRcvListCore)
	k.RetVoid(fnNetifRcvListInt)
}

// netifReceiveSkbCore is __netif_receive_skb_core(): reset the headers,
// give the taps their references, and find the ethertype's handler. An
// skb nobody handles is dropped here.
func (n *Net) netifReceiveSkbCore(k *kernel.Kernel, s *skb.SKB) (PacketHandler, *Device) {
	k.Call(fnNetifRcvCore, s)
	dev := n.Device(s.Dev)
	s.ResetNetworkHeader()
	s.ResetTransportHeader()
	sd := n.Softnet(k)
	sd.Processed++
	if dev != nil {
		for _, t := range append(append([]PacketType(nil), n.PtypeAll...), dev.PtypeAll...) {
			k.Call(fnDeliverSkb, s).Note = fmt.Sprintf("a tap on %s gets a reference", dev.Name)
			s.Get()
			t.Func(k, s, dev)
			k.RetS(fnDeliverSkb, "0")
		}
	}
	h := n.ptypeBase[s.Protocol]
	if h == nil || dev == nil {
		k.Note(trace.State, fmt.Sprintf("no packet_type for ethertype 0x%04x", s.Protocol), s)
		if dev != nil {
			dev.RxDropped++
		}
		KfreeSkbReason(k, s, dropUnhandledProto)
		k.RetS(fnNetifRcvCore, "NET_RX_DROP")
		return nil, nil
	}
	k.Note(trace.State, fmt.Sprintf("ethertype 0x%04x → %s", s.Protocol, handlerName(h)), s)
	k.RetS(fnNetifRcvCore, "NET_RX_SUCCESS")
	return h, dev
}

func handlerName(h PacketHandler) string {
	if n, ok := h.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "handler"
}

// NetifWakeQueue is netif_wake_queue() → netif_tx_wake_queue(): clear the
// stopped bit and let NET_TX run the qdisc again.
func (d *Device) NetifWakeQueue(k *kernel.Kernel) {
	k.Call(fnNetifTxWakeQueue).Note = fmt.Sprintf("%s txq woken (__QUEUE_STATE_DRV_XOFF cleared)", d.Name)
	if d.txqStopped {
		d.txqStopped = false
		d.Net.NetifSchedule(k, d)
	}
	k.RetVoid(fnNetifTxWakeQueue)
}

// NetifSchedule is __netif_schedule() → __netif_reschedule(): put the
// device's qdisc on this CPU's output_queue and raise NET_TX.
func (n *Net) NetifSchedule(k *kernel.Kernel, d *Device) {
	k.Call(fnNetifSchedule).Note = fmt.Sprintf("%s's qdisc joins the output_queue; NET_TX will run it", d.Name)
	sd := n.Softnet(k)
	for _, x := range sd.outputQueue {
		if x == d { // __QDISC_STATE_SCHED already set
			k.RetVoid(fnNetifSchedule)
			return
		}
	}
	sd.outputQueue = append(sd.outputQueue, d)
	e := k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen = outputQueueName, len(sd.outputQueue)
	k.RaiseSoftirqIrqoff(kernel.NetTxSoftirq)
	k.RetVoid(fnNetifSchedule)
}

// netTxAction is net_tx_action(), the NET_TX softirq: free what drivers
// queued from hard interrupts, then run the scheduled qdiscs.
func (n *Net) netTxAction(k *kernel.Kernel) {
	k.Call(fnNetTxAction)
	sd := n.Softnet(k)
	if len(sd.completionQueue) > 0 {
		k.Note(trace.State, "free the skbs drivers released in hard interrupt context")
		cq := sd.completionQueue
		sd.completionQueue = nil
		for i, s := range cq {
			k.Dequeue(completionQueueName, len(cq)-i-1, s)
			k.Call(fnNapiKfreeSkb, s).Note = "with the reason the driver saved in skb->cb"
			release(k, s, skb.Consumed)
			k.RetVoid(fnNapiKfreeSkb)
		}
	}
	if len(sd.outputQueue) > 0 {
		k.Note(trace.State, "run the qdiscs of the output_queue")
		oq := sd.outputQueue
		sd.outputQueue = nil
		for i, d := range oq {
			e := k.Event(trace.Dequeue, nil)
			e.Queue, e.QLen = outputQueueName, len(oq)-i-1
			if d.Qdisc != nil && d.Qdisc.CanEnqueue() {
				n.Sched.QdiscRun(k, d.Qdisc, d)
			}
		}
	}
	k.RetVoid(fnNetTxAction)
}

// DevKfreeSkbAnyReason is dev_kfree_skb_any_reason() (dev_consume_skb_any
// and dev_kfree_skb_any): free now, or from hard interrupt context defer
// to NET_TX through the completion queue.
func (n *Net) DevKfreeSkbAnyReason(k *kernel.Kernel, s *skb.SKB, reason skb.Reason) {
	k.Call(fnDevKfreeSkbAnyRsn, s)
	if k.InHardirq() {
		k.Call(fnDevKfreeSkbIrqRsn, s)
		sd := n.Softnet(k)
		sd.completionQueue = append(sd.completionQueue, s)
		k.Enqueue(completionQueueName, len(sd.completionQueue), s)
		k.RaiseSoftirqIrqoff(kernel.NetTxSoftirq)
		k.RetVoid(fnDevKfreeSkbIrqRsn)
	} else {
		KfreeSkbReason(k, s, reason)
	}
	k.RetVoid(fnDevKfreeSkbAnyRsn)
}
