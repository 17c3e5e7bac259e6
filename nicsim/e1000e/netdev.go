package e1000e

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/ethernet"
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
	count := 1 // a linear skb needs one data descriptor
	if s.IPSummed == skb.ChecksumPartial {
		count++ // and the offload context takes one more
	}
	if n.maybeStopTx(k, count+2) {
		return kernel.Ret(k, fnXmitFrame, core.NetdevTxBusy)
	}
	n.txCsum(k, s)
	n.txMap(k, s)
	n.Dev.NetdevTxSentQueue(k, s.Len())
	n.txQueue(k, s)
	n.maybeStopTx(k, stopThreshold)
	k.Note(trace.State, fmt.Sprintf("writel(TDT=%d): doorbell, the NIC will fetch the descriptor", n.txNextToUse))
	n.doorbell()
	return kernel.Ret(k, fnXmitFrame, core.NetdevTxOK)
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
func (n *NIC) txMap(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnTxMap, s)
	n.tx[n.txNextToUse] = txDesc{skb: s}
	e.Note = fmt.Sprintf("descriptor %d: dma_map_single(%d bytes)", n.txNextToUse, s.Len())
	kernel.Ret(k, fnTxMap, 1)
}

// txQueue is e1000_tx_queue(): write the descriptor (EOP, IFCS, RS) and
// advance next_to_use.
func (n *NIC) txQueue(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnTxQueue, s)
	n.txNextToUse = (n.txNextToUse + 1) % len(n.tx)
	k.Enqueue(n.txRingName(), n.txUsed(), s).Note = "descriptor owned by the NIC until it writes back DD"
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
			continue // a context descriptor: nothing to free
		}
		count++
		bytes += d.skb.Len()
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
