package e1000e

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const netdevC = "drivers/net/ethernet/intel/e1000e/netdev.c"

var (
	fnXmitFrame   = kernel.NewFn("e1000_xmit_frame", netdevC, "driver")
	fnMaybeStopTx = kernel.NewFn("e1000_maybe_stop_tx", netdevC, "driver")
	fnTxMap       = kernel.NewFn("e1000_tx_map", netdevC, "driver")
	fnTxQueue     = kernel.NewFn("e1000_tx_queue", netdevC, "driver")
	fnIntrMSI     = kernel.NewFn("e1000_intr_msi", netdevC, "driver")
)

// stopThreshold is what e1000_xmit_frame asks to stay free after a send:
// room for a worst-case skb (MAX_SKB_FRAGS descriptors plus 4).
const stopThreshold = 17 + 4

// NdoStartXmit is e1000_xmit_frame(): map the skb into TX descriptors,
// account it for BQL, ring the doorbell and stop the queue while a
// worst-case skb would no longer fit.
func (n *NIC) NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *core.Device) core.NetdevTx {
	k.Call(fnXmitFrame, s)
	const count = 1 // a linear skb needs one data descriptor
	if n.maybeStopTx(k, count+2) {
		return kernel.Ret(k, fnXmitFrame, core.NetdevTxBusy)
	}
	n.txMap(k, s)
	k.Note(trace.State, fmt.Sprintf("netdev_sent_queue: %d bytes in flight for BQL", s.Len()), s)
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

// intrMSI is e1000_intr_msi(), the hard interrupt handler: it reads ICR
// (which acknowledges it) and schedules NAPI to do the work in softirq.
func (n *NIC) intrMSI() {
	k := n.k
	e := k.Call(fnIntrMSI)
	e.Note = fmt.Sprintf("%d TX descriptors done, %d RX buffers filled: work for NAPI poll", n.txDone(), n.rxUsed)
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
