package core

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// The per-CPU backlog of net/core/dev.c: how loopback (and RPS) hand
// packets to the receive path without a NAPI driver of their own.

var (
	fnNetifRx             = kernel.NewFn("__netif_rx", devC, "dev")
	fnNetifRxInternal     = kernel.NewFn("netif_rx_internal", devC, "dev")
	fnEnqueueToBacklog    = kernel.NewFn("enqueue_to_backlog", devC, "dev")
	fnNapiScheduleRps     = kernel.NewFn("napi_schedule_rps", devC, "napi")
	fnProcessBacklog      = kernel.NewFn("process_backlog", devC, "napi")
	fnNetifReceiveSkb     = kernel.NewFn("__netif_receive_skb", devC, "dev")
	fnNetifRcvSkbOneCore  = kernel.NewFn("__netif_receive_skb_one_core", devC, "dev")
	fnSkbOrphan           = kernel.NewFn("skb_orphan", "include/linux/skbuff.h", "skb")
	dropCPUBacklog        = skb.Reason("SKB_DROP_REASON_CPU_BACKLOG")
	dropDevReady          = skb.Reason("SKB_DROP_REASON_DEV_READY")
	inputPktQueue         = "softnet_data input_pkt_queue"
	processQueue          = "softnet_data process_queue"
	netdevMaxBacklog      = 1000 // net.core.netdev_max_backlog
	backlogNapiDeviceName = "backlog"
)

// backlogState is the backlog half of softnet_data.
type backlogState struct {
	napi    *NAPI
	input   []*skb.SKB // input_pkt_queue
	process []*skb.SKB // process_queue
	Dropped int
}

func (n *Net) backlog(k *kernel.Kernel) *backlogState {
	sd := n.Softnet(k)
	if sd.backlog.napi == nil {
		sd.backlog.napi = &NAPI{Dev: &Device{Name: backlogNapiDeviceName}, Weight: NapiWeight}
		sd.backlog.napi.Poll = func(k *kernel.Kernel, napi *NAPI, quota int) int { return n.processBacklog(k, quota) }
	}
	return &sd.backlog
}

// NetifRx is __netif_rx() → netif_rx_internal() → enqueue_to_backlog():
// queue a received skb on this CPU's backlog for NET_RX.
func (n *Net) NetifRx(k *kernel.Kernel, s *skb.SKB) NetXmit {
	k.Call(fnNetifRx, s)
	k.Call(fnNetifRxInternal, s)
	rc := n.enqueueToBacklog(k, s)
	kernel.Ret(k, fnNetifRxInternal, netRx(rc))
	return NetXmit(kernel.Ret(k, fnNetifRx, netRx(rc)))
}

// netRx prints NET_RX_SUCCESS / NET_RX_DROP.
type netRx int

func (r netRx) String() string {
	if r == 0 {
		return "NET_RX_SUCCESS"
	}
	return "NET_RX_DROP"
}

// enqueueToBacklog is enqueue_to_backlog(): append to input_pkt_queue,
// scheduling the backlog NAPI if the queue was empty; above
// netdev_max_backlog the skb is dropped.
func (n *Net) enqueueToBacklog(k *kernel.Kernel, s *skb.SKB) netRx {
	e := k.Call(fnEnqueueToBacklog, s)
	b := n.backlog(k)
	dev := n.Device(s.Dev)
	switch {
	case len(b.input) > netdevMaxBacklog:
		b.Dropped++
		e.Note = fmt.Sprintf("input_pkt_queue holds %d > netdev_max_backlog %d", len(b.input), netdevMaxBacklog)
		KfreeSkbReason(k, s, dropCPUBacklog)
		return kernel.Ret(k, fnEnqueueToBacklog, netRx(1))
	case dev == nil || !dev.Up:
		KfreeSkbReason(k, s, dropDevReady)
		return kernel.Ret(k, fnEnqueueToBacklog, netRx(1))
	}
	if len(b.input) == 0 && !b.napi.scheduled {
		b.napi.scheduled = true
		k.Call(fnNapiScheduleRps).Note = "the backlog was empty: schedule its NAPI on this CPU"
		n.napiScheduleInner(k, b.napi)
		k.RetVoid(fnNapiScheduleRps)
	}
	b.input = append(b.input, s)
	k.Enqueue(inputPktQueue, len(b.input), s)
	return kernel.Ret(k, fnEnqueueToBacklog, netRx(0))
}

// processBacklog is process_backlog(), the backlog's NAPI poll: move
// input_pkt_queue to process_queue and receive each skb with
// __netif_receive_skb, up to quota.
func (n *Net) processBacklog(k *kernel.Kernel, quota int) int {
	k.Call(fnProcessBacklog)
	b := n.backlog(k)
	work := 0
	for {
		for len(b.process) > 0 {
			s := b.process[0]
			b.process = b.process[1:]
			k.Dequeue(processQueue, len(b.process), s)
			n.netifReceiveSkb(k, s)
			work++
			if work >= quota {
				return int(kernel.Ret(k, fnProcessBacklog, kernel.Err(work)))
			}
		}
		if len(b.input) == 0 {
			b.napi.scheduled = false
			k.Note(trace.State, "input_pkt_queue empty: the backlog NAPI is done")
			break
		}
		for i, s := range b.input {
			k.Dequeue(inputPktQueue, len(b.input)-i-1, s)
			b.process = append(b.process, s)
			k.Enqueue(processQueue, len(b.process), s)
		}
		b.input = nil
	}
	return int(kernel.Ret(k, fnProcessBacklog, kernel.Err(work)))
}

// netifReceiveSkb is __netif_receive_skb() → __netif_receive_skb_one_core:
// the one-skb path, which reaches IPv4 through ip_rcv.
func (n *Net) netifReceiveSkb(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnNetifReceiveSkb, s)
	k.Call(fnNetifRcvSkbOneCore, s)
	if h, dev := n.netifReceiveSkbCore(k, s); h != nil {
		h.Rcv(k, s, dev)
	}
	k.RetS(fnNetifRcvSkbOneCore, "NET_RX_SUCCESS")
	k.RetS(fnNetifReceiveSkb, "NET_RX_SUCCESS")
}

// SkbOrphan is skb_orphan(): run the destructor now and detach the skb
// from its socket (loopback does this so the sender's buffer is free).
func SkbOrphan(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnSkbOrphan, s)
	if d := s.Destructor; d != nil {
		s.Destructor = nil
		d(s)
	}
	s.Sk = ""
	k.RetVoid(fnSkbOrphan)
}

var fnNetifRxAny = kernel.NewFn("netif_rx", devC, "dev")

// NetifRxAny is netif_rx(), what a non-NAPI driver (cs89x0, dm9000) calls
// from its interrupt handler: turn bottom halves off if the caller has
// not (not needed in hard interrupt context), then the same
// netif_rx_internal as __netif_rx.
func (n *Net) NetifRxAny(k *kernel.Kernel, s *skb.SKB) NetXmit {
	e := k.Call(fnNetifRxAny, s)
	bhOff := !k.InInterrupt()
	if bhOff {
		e.Note = "not in interrupt context: local_bh_disable around the enqueue"
		k.LocalBhDisable()
	}
	k.Call(fnNetifRxInternal, s)
	rc := n.enqueueToBacklog(k, s)
	kernel.Ret(k, fnNetifRxInternal, netRx(rc))
	if bhOff {
		k.LocalBhEnable()
	}
	return NetXmit(kernel.Ret(k, fnNetifRxAny, netRx(rc)))
}
