package core

import (
	"fmt"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const devC = "net/core/dev.c"

var (
	fnDevQueueXmit      = kernel.NewFn("dev_queue_xmit", "include/linux/netdevice.h", "dev")
	fnDevQueueXmitInner = kernel.NewFn("__dev_queue_xmit", devC, "dev")
	fnNetdevCorePickTx  = kernel.NewFn("netdev_core_pick_tx", devC, "dev")
	fnDevXmitSkb        = kernel.NewFn("__dev_xmit_skb", devC, "qdisc")
	fnDevQdiscEnqueue   = kernel.NewFn("dev_qdisc_enqueue", devC, "qdisc")
	fnValidateXmitList  = kernel.NewFn("validate_xmit_skb_list", devC, "dev")
	fnValidateXmitSkb   = kernel.NewFn("validate_xmit_skb", devC, "dev")
	fnDevHardStartXmit  = kernel.NewFn("dev_hard_start_xmit", devC, "dev")
	fnXmitOne           = kernel.NewFn("xmit_one", devC, "dev")
	fnDevQueueXmitNit   = kernel.NewFn("dev_queue_xmit_nit", devC, "dev")
	fnNetdevStartXmit   = kernel.NewFn("netdev_start_xmit", "include/linux/netdevice.h", "dev")
	fnSkbChecksumHelp   = kernel.NewFn("skb_checksum_help", devC, "dev")
)

// DevQueueXmit is dev_queue_xmit() → __dev_queue_xmit(skb, NULL): queue
// an skb for transmission on skb.Dev. The skb is always consumed. The
// result is NET_XMIT_SUCCESS, a positive NET_XMIT code, or a negative
// errno.
func DevQueueXmit(k *kernel.Kernel, dev *Device, s *skb.SKB) NetXmit {
	k.Call(fnDevQueueXmit, s)
	return kernel.Ret(k, fnDevQueueXmit, devQueueXmit(k, dev, s))
}

func devQueueXmit(k *kernel.Kernel, dev *Device, s *skb.SKB) NetXmit {
	s.ResetMACHeader()
	k.Call(fnDevQueueXmitInner, s).Note = "bottom halves off (rcu_read_lock_bh) from here to the driver"
	k.LocalBhDisable()
	k.Call(fnNetdevCorePickTx, s)
	k.RetS(fnNetdevCorePickTx, "txq 0")
	var rc NetXmit
	if q := dev.Qdisc; q != nil && q.CanEnqueue() {
		rc = devXmitSkb(k, s, q, dev)
	} else {
		rc = noqueueXmit(k, dev, s)
	}
	// rcu_read_unlock_bh(): softirqs raised meanwhile run here.
	k.LocalBhEnable()
	return kernel.Ret(k, fnDevQueueXmitInner, rc)
}

// devXmitSkb is __dev_xmit_skb(): straight to the driver when the qdisc
// may be bypassed and is empty, else through it. The model takes the
// same path for lockless qdiscs (pfifo_fast) and those under the root
// lock (fifo, tbf, fq_codel).
func devXmitSkb(k *kernel.Kernel, s *skb.SKB, q Qdisc, dev *Device) NetXmit {
	k.Call(fnDevXmitSkb, s)
	if q.CanBypass() && q.Empty() && q.RunBegin() {
		k.Note(trace.State, q.Kind()+" is empty and idle: bypass it (TCQ_F_CAN_BYPASS)", s)
		if dev.Net.Sched.SchDirectXmit(k, s, q, dev, true) && !q.Empty() {
			dev.Net.Sched.RunQdisc(k, q, dev)
		}
		q.RunEnd()
		return kernel.Ret(k, fnDevXmitSkb, NetXmitSuccess)
	}
	if q.CanBypass() {
		k.Note(trace.State, q.Kind()+" is busy or not empty: enqueue, then run it", s)
	} else {
		k.Note(trace.State, q.Kind()+" is never bypassed (no TCQ_F_CAN_BYPASS): enqueue, then run it", s)
	}
	rc := devQdiscEnqueue(k, s, q)
	dev.Net.Sched.QdiscRun(k, q, dev)
	return kernel.Ret(k, fnDevXmitSkb, rc)
}

// devQdiscEnqueue is dev_qdisc_enqueue(): q->enqueue, masked.
func devQdiscEnqueue(k *kernel.Kernel, s *skb.SKB, q Qdisc) NetXmit {
	k.Call(fnDevQdiscEnqueue, s)
	return kernel.Ret(k, fnDevQdiscEnqueue, q.Enqueue(k, s)&0x0f)
}

// ValidateXmitSkbList is validate_xmit_skb_list(): validate each skb of a
// list before it goes to the driver. The model sends one skb at a time,
// which validate_xmit_skb may turn into a list of GSO segments.
func ValidateXmitSkbList(k *kernel.Kernel, s *skb.SKB, dev *Device) *skb.SKB {
	k.Call(fnValidateXmitList, s)
	s = validateXmitSkb(k, s, dev)
	return kernel.Ret(k, fnValidateXmitList, s, listOf(s)...)
}

// validateXmitSkb is validate_xmit_skb(): make the skb something this
// device can send. A GSO skb the device cannot segment (no NETIF_F_TSO)
// is cut into MSS-sized skbs here (skb_gso_segment), each with its own
// headers and checksum; the original is consumed. Otherwise a checksum
// left to the hardware (CHECKSUM_PARTIAL) on a device that cannot do it
// is finished here in software.
func validateXmitSkb(k *kernel.Kernel, s *skb.SKB, dev *Device) *skb.SKB {
	e := k.Call(fnValidateXmitSkb, s)
	if s.GSOSegs > 1 && netifNeedsGSO(k, s, dev) {
		segs := skbGSOSegment(k, s, dev)
		if segs == nil {
			dev.TxDropped++
			KfreeSkbReason(k, s, skb.NotSpecified)
			return kernel.Ret(k, fnValidateXmitSkb, (*skb.SKB)(nil))
		}
		e.Note = fmt.Sprintf("GSO: one %d-byte skb became %d segments", s.Len(), len(listOf(segs)))
		ConsumeSkb(k, s)
		return kernel.Ret(k, fnValidateXmitSkb, segs, listOf(segs)...)
	}
	switch {
	case s.IPSummed == skb.ChecksumPartial && dev.Features&FeatHWCsum == 0:
		e.Note = dev.Name + " cannot checksum: skb_csum_hwoffload_help → skb_checksum_help"
		skbChecksumHelp(k, s)
	case s.IPSummed == skb.ChecksumPartial:
		e.Note = dev.Name + " has NETIF_F_HW_CSUM: the NIC will finish the checksum"
	default:
		e.Note = "checksum already complete: nothing to do"
	}
	return kernel.Ret(k, fnValidateXmitSkb, s, s)
}

// skbChecksumHelp is skb_checksum_help(): compute the checksum from
// csum_start to the end (over the pseudo-header sum already stored in the
// field) and store it at csum_start + csum_offset.
func skbChecksumHelp(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnSkbChecksumHelp, s)
	FinishChecksum(s.At(s.CsumStart, s.TailOff()-s.CsumStart), s.CsumOff)
	k.Spend(int64(s.TailOff()-s.CsumStart) / 8)
	s.IPSummed = skb.ChecksumNone
	k.RetS(fnSkbChecksumHelp, "0", s)
}

// FinishChecksum completes a CHECKSUM_PARTIAL checksum in place: b runs
// from csum_start to the end of the packet, and the field at off already
// holds the pseudo-header sum. What skb_checksum_help and a NIC do.
func FinishChecksum(b []byte, off int) {
	if off < 0 || off+2 > len(b) {
		return
	}
	c := ^header.Fold(header.Sum(0, b))
	if c == 0 {
		c = 0xffff // CSUM_MANGLED_0 for UDP; TCP never sums to zero here
	}
	b[off], b[off+1] = byte(c>>8), byte(c)
}

// DevHardStartXmit is dev_hard_start_xmit(): hand the skb list to the
// driver, one xmit_one per skb, telling the driver whether more follow
// (xmit_more) so it can ring its doorbell once. It stops early when the
// driver refuses an skb or the queue stops, and returns what is left
// (nil when all was taken) with the driver's last code.
func DevHardStartXmit(k *kernel.Kernel, s *skb.SKB, dev *Device) (*skb.SKB, NetdevTx) {
	k.Call(fnDevHardStartXmit, s)
	rc := NetdevTxOK
	for s != nil {
		next := s.Next
		s.Next = nil
		rc = xmitOne(k, s, dev, next != nil)
		if !devXmitComplete(rc) {
			s.Next = next
			break
		}
		s = next
		if s != nil && dev.NetifXmitStopped() {
			k.Note(trace.State, dev.Name+"'s queue stopped in the middle of the list: the rest goes back", s)
			rc = NetdevTxBusy
			break
		}
	}
	k.RetS(fnDevHardStartXmit, rc.String())
	return s, rc
}

// xmitOne is xmit_one(): copies to the taps, then the driver.
func xmitOne(k *kernel.Kernel, s *skb.SKB, dev *Device, more bool) NetdevTx {
	k.Call(fnXmitOne, s)
	if len(dev.Net.PtypeAll) > 0 || len(dev.PtypeAll) > 0 {
		devQueueXmitNit(k, s, dev)
	}
	rc := netdevStartXmit(k, s, dev, more)
	return kernel.Ret(k, fnXmitOne, rc)
}

// devQueueXmitNit is dev_queue_xmit_nit(): give every tap (tcpdump's
// packet socket) its own view of the outgoing skb. One clone is made and
// shared by all taps but the last, as the kernel does.
func devQueueXmitNit(k *kernel.Kernel, s *skb.SKB, dev *Device) {
	k.Call(fnDevQueueXmitNit, s)
	taps := append(append([]PacketType(nil), dev.Net.PtypeAll...), dev.PtypeAll...)
	c := SkbClone(k, s)
	c.ResetMACHeader()
	c.TransportHeader = c.NetworkHeader
	c.PktType = skb.PacketOutgoing
	for i, t := range taps {
		if i == len(taps)-1 { // the last tap is called directly with the clone's own reference
			t.Func(k, c, dev)
			break
		}
		k.Call(fnDeliverSkb, c).Note = "another tap follows: this one gets its own reference to the clone"
		c.Get()
		t.Func(k, c, dev)
		k.RetS(fnDeliverSkb, "0")
	}
	k.RetVoid(fnDevQueueXmitNit)
}

// netdevStartXmit is netdev_start_xmit() → __netdev_start_xmit(): set
// xmit_more and call the driver's ndo_start_xmit.
func netdevStartXmit(k *kernel.Kernel, s *skb.SKB, dev *Device, more bool) NetdevTx {
	e := k.Call(fnNetdevStartXmit, s)
	if more {
		e.Note = "xmit_more: more skbs follow, the driver may delay its doorbell"
	}
	dev.Net.Softnet(k).xmitMore = more
	rc := dev.Ops.NdoStartXmit(k, s, dev)
	dev.Net.Softnet(k).xmitMore = false
	return kernel.Ret(k, fnNetdevStartXmit, rc)
}

// xmitRecursionLimit is XMIT_RECURSION_LIMIT: how deep one CPU may nest
// transmissions through virtual devices (a tunnel whose route leads into
// itself would otherwise recurse until the stack overflows).
const xmitRecursionLimit = 8

// noqueueXmit is the branch of __dev_queue_xmit for a device without a
// queue (noqueue: lo, veth, tunnels): validate and call the driver at
// once. A device that is not IFF_UP, a transmission nested deeper than
// XMIT_RECURSION_LIMIT on this CPU or re-entering the device whose TX lock
// this CPU holds ("Dead loop"), and a driver that refuses the skb ("asks
// to queue": it has no queue to wait in) all lose the skb and count a
// tx_dropped.
func noqueueXmit(k *kernel.Kernel, dev *Device, s *skb.SKB) NetXmit {
	k.Note(trace.State, dev.Name+" has the noqueue qdisc: straight to the driver", s)
	rc := NetXmit(-kernel.ENOMEM) // __dev_queue_xmit's initial rc
	sd := dev.Net.Softnet(k)
	cpu := k.CPU().ID
	switch {
	case !dev.Up:
		k.Note(trace.State, dev.Name+" is not IFF_UP: drop", s)
	case dev.xmitLockOwner == cpu+1 || sd.xmitRecursion > xmitRecursionLimit:
		// recursion_alert: net_crit_ratelimited.
		k.Note(trace.State, fmt.Sprintf("net_crit_ratelimited: Dead loop on virtual device %s, fix it urgently! (xmit recursion %d)", dev.Name, sd.xmitRecursion), s)
		rc = NetXmit(-kernel.ENETDOWN)
	default:
		if s = validateXmitSkb(k, s, dev); s == nil {
			return rc
		}
		if !dev.LLTX { // HARD_TX_LOCK: an LLTX driver locks for itself
			dev.xmitLockOwner = cpu + 1
		}
		var txrc NetdevTx
		rest := s
		if !dev.NetifXmitStopped() {
			sd.xmitRecursion++
			rest, txrc = DevHardStartXmit(k, s, dev)
			sd.xmitRecursion--
		}
		if !dev.LLTX {
			dev.xmitLockOwner = 0
		}
		if rest == nil {
			return NetXmit(txrc)
		}
		s = rest
		k.Note(trace.State, "net_crit_ratelimited: Virtual device "+dev.Name+" asks to queue packet!", s)
		rc = NetXmit(-kernel.ENETDOWN)
	}
	dev.TxDropped++ // dev_core_stats_tx_dropped_inc
	KfreeSkbReason(k, s, skb.NotSpecified)
	return rc
}
