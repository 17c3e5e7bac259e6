package e1000e

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/ethernet"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const netdevC = "drivers/net/ethernet/intel/e1000e/netdev.c"

var (
	fnXmitFrame   = kernel.NewFn("e1000_xmit_frame", netdevC, "driver")
	fnMaybeStopTx = kernel.NewFn("e1000_maybe_stop_tx", netdevC, "driver")
	fnTxMap       = kernel.NewFn("e1000_tx_map", netdevC, "driver")
	fnTxCsum      = kernel.NewFn("e1000_tx_csum", netdevC, "driver")
	fnTxQueue     = kernel.NewFn("e1000_tx_queue", netdevC, "driver")
	fnIntrMSI     = kernel.NewFn("e1000_intr_msi", netdevC, "driver")
	fnPoll        = kernel.NewFn("e1000e_poll", netdevC, "driver")
	fnCleanTxIrq  = kernel.NewFn("e1000_clean_tx_irq", netdevC, "driver")
	fnPutTxbuf    = kernel.NewFn("e1000_put_txbuf", netdevC, "driver")
	fnCleanRxIrq  = kernel.NewFn("e1000_clean_rx_irq", netdevC, "driver")
	fnRxChecksum  = kernel.NewFn("e1000_rx_checksum", netdevC, "driver")
	fnReceiveSkb  = kernel.NewFn("e1000_receive_skb", netdevC, "driver")
	fnIrqEnable   = kernel.NewFn("e1000_irq_enable", netdevC, "driver")
)

// stopThreshold is what e1000_xmit_frame asks to stay free after a send:
// room for a worst-case skb (MAX_SKB_FRAGS descriptors plus 4).
const stopThreshold = 17 + 4

// NdoStartXmit is e1000_xmit_frame(): map the skb into TX descriptors,
// account it for BQL, ring the doorbell and stop the queue while a
// worst-case skb would no longer fit.
func (n *NIC) NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *core.Device) core.NetdevTx {
	k.Call(fnXmitFrame, s)
	count := (s.Len() + maxPerTxd - 1) / maxPerTxd // data descriptors of at most 8 KB
	if s.IPSummed == skb.ChecksumPartial || s.GSOSize != 0 {
		count++ // and the offload context takes one more
	}
	if n.maybeStopTx(k, count+2) {
		return kernel.Ret(k, fnXmitFrame, core.NetdevTxBusy)
	}
	if !n.tso(k, s) {
		n.txCsum(k, s)
	}
	n.txMap(k, s)
	n.Dev.NetdevTxSentQueue(k, s.Len())
	n.txQueue(k, s)
	n.maybeStopTx(k, stopThreshold)
	if more := n.Dev.Net.NetdevXmitMore(k); !more || n.Dev.NetifXmitStopped() {
		k.Note(trace.State, fmt.Sprintf("writel(TDT=%d): doorbell, the NIC will fetch the descriptors", n.txNextToUse))
		n.doorbell()
	} else {
		k.Note(trace.State, "netdev_xmit_more: more skbs follow, the doorbell waits for the last one")
	}
	return kernel.Ret(k, fnXmitFrame, core.NetdevTxOK)
}

var fnTSO = kernel.NewFn("e1000_tso", netdevC, "driver")

// tso is e1000_tso(): for a GSO skb, prepare the headers as the hardware
// wants them (IP total length and header checksum zero, the TCP checksum
// field holding the pseudo-header sum without a length) and write a TSO
// context descriptor with the MSS and the header length; the NIC does
// the rest. It reports whether the skb is TSO.
func (n *NIC) tso(k *kernel.Kernel, s *skb.SKB) bool {
	if s.GSOSize == 0 {
		return false
	}
	e := k.Call(fnTSO, s)
	ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	th := header.TCP(s.At(s.TransportHeader, header.TCPMinLen))
	hdrLen := s.TransportHeader + th.DataOff() - s.DataOff()
	ip.SetTotalLen(0)
	ip[10], ip[11] = 0, 0
	th.SetChecksum(header.Fold(header.PseudoSum(ip.Src(), ip.Dst(), header.ProtoTCP, 0)))
	css := s.TransportHeader - s.DataOff()
	n.tx[n.txNextToUse] = txDesc{ctx: &csumCtx{css: css, cso: css + 16, tso: true, mss: s.GSOSize, hdrLen: hdrLen}}
	e.Note = fmt.Sprintf("TSO context descriptor %d: mss %d, hdr_len %d, paylen %d: the NIC will send %d frames", n.txNextToUse, s.GSOSize, hdrLen, s.Len()-hdrLen, s.GSOSegs)
	n.txNextToUse = (n.txNextToUse + 1) % len(n.tx)
	k.RetS(fnTSO, "1")
	return true
}

// maybeStopTx is e1000_maybe_stop_tx(): stop the queue when fewer than
// size descriptors are free. It reports whether the queue stayed stopped.
func (n *NIC) maybeStopTx(k *kernel.Kernel, size int) bool {
	e := k.Call(fnMaybeStopTx)
	if n.txUnused() >= size {
		e.Note = fmt.Sprintf("%d descriptors free, %d needed", n.txUnused(), size)
		return kernel.Ret(k, fnMaybeStopTx, false)
	}
	n.Dev.NetifStopQueue(k)
	return kernel.Ret(k, fnMaybeStopTx, true)
}

// txCsum is e1000_tx_csum(): for a CHECKSUM_PARTIAL skb, write a
// context descriptor telling the NIC where the checksum starts and where
// to put it.
func (n *NIC) txCsum(k *kernel.Kernel, s *skb.SKB) bool {
	e := k.Call(fnTxCsum, s)
	if s.IPSummed != skb.ChecksumPartial {
		e.Note = "not CHECKSUM_PARTIAL: no offload context"
		return kernel.Ret(k, fnTxCsum, false)
	}
	css := s.CsumStart - s.DataOff()
	n.tx[n.txNextToUse] = txDesc{ctx: &csumCtx{css: css, cso: css + s.CsumOff}}
	e.Note = fmt.Sprintf("context descriptor %d: tucss %d, tucso %d", n.txNextToUse, css, css+s.CsumOff)
	n.txNextToUse = (n.txNextToUse + 1) % len(n.tx)
	return kernel.Ret(k, fnTxCsum, true)
}

// txMap is e1000_tx_map(): dma_map_single the data and remember the skb
// in the descriptor's buffer_info until the NIC is done with it.
// A packet longer than E1000_MAX_PER_TXD takes several descriptors; the
// skb is remembered on the last one.
func (n *NIC) txMap(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnTxMap, s)
	count := 0
	i := n.txNextToUse
	for off := 0; off < s.Len() || count == 0; off += maxPerTxd {
		i = (n.txNextToUse + count) % len(n.tx)
		n.tx[i] = txDesc{length: min(maxPerTxd, s.Len()-off)}
		count++
	}
	n.tx[i].skb = s
	if count == 1 {
		e.Note = fmt.Sprintf("descriptor %d: dma_map_single(%d bytes)", n.txNextToUse, s.Len())
	} else {
		e.Note = fmt.Sprintf("descriptors %d..%d: %d bytes in pieces of at most %d", n.txNextToUse, i, s.Len(), maxPerTxd)
	}
	kernel.Ret(k, fnTxMap, count)
}

// txQueue is e1000_tx_queue(): write the descriptors (EOP, IFCS, RS on
// the last) and advance next_to_use past them.
func (n *NIC) txQueue(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnTxQueue, s)
	for n.tx[n.txNextToUse].skb != s {
		n.txNextToUse = (n.txNextToUse + 1) % len(n.tx)
	}
	n.txNextToUse = (n.txNextToUse + 1) % len(n.tx)
	k.Enqueue(n.txRingName(), n.txUsed(), s).Note = "descriptors owned by the NIC until it writes back DD"
	k.RetVoid(fnTxQueue)
}

// intrMSI is e1000_intr_msi(), the hard interrupt handler: reading ICR
// acknowledges and masks the interrupt; the work is left to NAPI.
func (n *NIC) intrMSI() {
	k := n.k
	k.Call(fnIntrMSI).Note = fmt.Sprintf("ICR read: %d TX descriptors done, %d RX buffers filled; schedule NAPI", n.txDone(), n.rxUsed)
	if n.lsc {
		n.lsc = false
		k.Note(trace.State, "ICR.LSC: link status changed, the watchdog will look in a jiffy")
		k.ModTimer(&n.watchdogTimer, k.Now()+kernel.Jiffy)
	}
	n.Dev.Net.NapiSchedule(k, n.napi)
	k.RetS(fnIntrMSI, "IRQ_HANDLED")
}

func (n *NIC) txDone() int {
	c := 0
	for i := n.txNextToClean; i != n.txNextToUse; i = (i + 1) % len(n.tx) {
		if n.tx[i].done {
			c++
		}
	}
	return c
}

// poll is e1000e_poll(), NAPI's poll for this adapter: reclaim the TX
// ring, receive up to budget frames, and when done re-enable the
// interrupt.
func (n *NIC) poll(k *kernel.Kernel, napi *core.NAPI, budget int) int {
	k.Call(fnPoll)
	txDone := n.cleanTxIrq(k)
	work := n.cleanRxIrq(k, budget)
	if !txDone {
		work = budget
	}
	if work < budget && n.Dev.Net.NapiCompleteDone(k, napi, work) {
		k.Call(fnIrqEnable).Note = "write IMS: interrupts back on"
		n.irqEnable()
		k.RetVoid(fnIrqEnable)
	}
	return int(kernel.Ret(k, fnPoll, kernel.Err(work)))
}

// pcount is skb_shinfo(skb)->gso_segs, at least one.
func pcount(s *skb.SKB) int { return max(s.GSOSegs, 1) }

// txWakeThreshold is TX_WAKE_THRESHOLD: free descriptors needed before a
// stopped queue is woken.
const txWakeThreshold = 32

// cleanTxIrq is e1000_clean_tx_irq(): free the skbs of every descriptor
// the NIC has written back, report them to BQL, and wake the queue if it
// was stopped and there is room again. It reports whether it finished.
func (n *NIC) cleanTxIrq(k *kernel.Kernel) bool {
	k.Call(fnCleanTxIrq)
	count, bytes := 0, 0
	for n.txNextToClean != n.txNextToUse && n.tx[n.txNextToClean].done && count < len(n.tx) {
		d := n.tx[n.txNextToClean]
		n.tx[n.txNextToClean] = txDesc{}
		n.txNextToClean = (n.txNextToClean + 1) % len(n.tx)
		if d.skb == nil {
			continue // a context descriptor or a packet's first pieces: nothing to free
		}
		count++
		bytes += d.skb.Len()
		n.Dev.TxPackets += pcount(d.skb) - 1 // buffer_info->segs
		k.Dequeue(n.txRingName(), n.txUsed(), d.skb)
		k.Call(fnPutTxbuf, d.skb).Note = "dma_unmap, then dev_consume_skb_any"
		n.Dev.Net.DevKfreeSkbAnyReason(k, d.skb, skb.Consumed)
		k.RetVoid(fnPutTxbuf)
	}
	n.Dev.TxPackets += count
	n.Dev.TxBytes += bytes
	n.Dev.NetdevTxCompletedQueue(k, count, bytes)
	if count > 0 && n.Dev.NetifXmitStopped() && n.txUnused() >= txWakeThreshold {
		n.Dev.NetifWakeQueue(k)
	}
	return kernel.Ret(k, fnCleanTxIrq, count < len(n.tx))
}

// copybreak is the e1000e module parameter: smaller frames are copied
// into a fresh small skb and the ring buffer is reused.
const copybreak = 256

// cleanRxIrq is e1000_clean_rx_irq(): for each filled descriptor, up to
// budget, build the skb (copying small frames), check the hardware's
// checksum verdict and pass it up with e1000_receive_skb.
func (n *NIC) cleanRxIrq(k *kernel.Kernel, budget int) int {
	k.Call(fnCleanRxIrq)
	work := 0
	for n.rxUsed > 0 && work < budget {
		slot := n.rxNextToClean
		d := n.rx[slot]
		n.rx[slot] = rxDesc{skb: d.skb}
		n.rxNextToClean = (n.rxNextToClean + 1) % len(n.rx)
		n.rxUsed--
		work++
		length := len(d.frame)
		var s *skb.SKB
		if length < copybreak {
			s = core.NapiAllocSkb(k, length)
			k.Dequeue(n.rxRingName(), n.rxUsed, s).Note = fmt.Sprintf("copybreak: %d < %d bytes, copied out of RX descriptor %d, which keeps its buffer", length, copybreak, slot)
		} else {
			s = d.skb
			if s == nil {
				s = core.RxRingSkb(k, rxBufferLen)
			}
			k.Dequeue(n.rxRingName(), n.rxUsed, s).Note = fmt.Sprintf("RX descriptor %d's own skb goes up the stack", slot)
			n.rx[slot].skb = core.NetdevAllocSkb(k, rxBufferLen)
			k.Enqueue(n.rxRingName(), n.rxUsed, n.rx[slot].skb).Note = fmt.Sprintf("refill: RX descriptor %d gets a fresh buffer", slot)
		}
		b, err := s.PutBytes(length)
		if err != nil {
			k.Note(trace.State, err.Error(), s)
			n.Dev.Net.DevKfreeSkbAnyReason(k, s, skb.NotSpecified)
			continue
		}
		copy(b, d.frame)
		n.Dev.RxPackets++
		n.Dev.RxBytes += length
		n.rxChecksum(k, d.status, s)
		n.receiveSkb(k, s)
	}
	return int(kernel.Ret(k, fnCleanRxIrq, kernel.Err(work)))
}

// rxBufferLen is the adapter's rx_buffer_len for a 1500-byte MTU:
// VLAN_ETH_FRAME_LEN + ETH_FCS_LEN.
const rxBufferLen = 1522

// rxChecksum is e1000_rx_checksum(): trust the NIC's verdict when it
// checked a TCP or UDP checksum and found no error.
func (n *NIC) rxChecksum(k *kernel.Kernel, st rxStatus, s *skb.SKB) {
	e := k.Call(fnRxChecksum, s)
	switch {
	case st.csumErr:
		e.Note = "the NIC found a bad checksum (IPE/TCPE): leave it to the stack"
	case st.l4cs:
		s.IPSummed = skb.ChecksumUnnecessary
		e.Note = "IPCS and TCPCS set: the NIC verified the checksums, CHECKSUM_UNNECESSARY"
	default:
		e.Note = "no TCP/UDP checksum verified by the NIC: CHECKSUM_NONE"
	}
	k.RetVoid(fnRxChecksum)
}

// receiveSkb is e1000_receive_skb(): eth_type_trans, then GRO.
func (n *NIC) receiveSkb(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnReceiveSkb, s)
	s.Protocol = ethernet.EthTypeTrans(k, s, n.Dev)
	n.Dev.Net.NapiGroReceive(k, n.napi, s)
	k.RetVoid(fnReceiveSkb)
}
