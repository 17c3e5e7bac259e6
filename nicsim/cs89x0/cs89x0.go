package cs89x0

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/ethernet"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const cs89x0C = "drivers/net/ethernet/cirrus/cs89x0.c"

var (
	fnNetSendPacket = kernel.NewFn("net_send_packet", cs89x0C, "driver")
	fnWritewords    = kernel.NewFn("writewords", cs89x0C, "driver")
	fnNetInterrupt  = kernel.NewFn("net_interrupt", cs89x0C, "driver")
	fnNetRx         = kernel.NewFn("net_rx", cs89x0C, "driver")
	fnReadwords     = kernel.NewFn("readwords", cs89x0C, "driver")
)

// NdoStartXmit is net_send_packet(), the driver's ndo_start_xmit (the
// seed's dev->hard_start_xmit). With interrupts off it stops the queue
// first, every time: the chip has one transmit buffer, and only its
// TX-complete interrupt may let the next skb in. It asks the chip for
// buffer space; refused, it returns NETDEV_TX_BUSY with the queue still
// stopped and the skb not consumed, so the qdisc requeues it. Otherwise
// it copies the frame through the I/O port and frees the skb at once:
// the bytes are in the chip now.
func (n *NIC) NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *core.Device) core.NetdevTx {
	k.Call(fnNetSendPacket, s).Note = "spin_lock_irqsave(&lp->lock): no interrupt may split the upload"
	n.Dev.NetifStopQueue(k)
	k.Note(trace.State, fmt.Sprintf("iowrite16 TX_CMD_PORT = TX_AFTER_381, TX_LEN_PORT = %d: the chip allocates a buffer", s.Len()), s)
	if !n.txCommand() {
		n.TxBusyCount++
		k.Note(trace.State, "readreg(PP_BusST): no READY_FOR_TX_NOW. \"Tx buffer not free!\"; spin_unlock_irqrestore", s)
		return kernel.Ret(k, fnNetSendPacket, core.NetdevTxBusy)
	}
	k.Note(trace.State, "readreg(PP_BusST): READY_FOR_TX_NOW, the chip has room for the frame", s)
	n.writewords(k, s.Data())
	k.Note(trace.State, "spin_unlock_irqrestore(&lp->lock)")
	n.Dev.TxBytes += s.Len()
	k.Note(trace.State, "the frame is in the chip: dev_consume_skb_any, and no netif_wake_queue here (the TX interrupt does that)", s)
	n.Dev.Net.DevKfreeSkbAnyReason(k, s, skb.Consumed)
	return kernel.Ret(k, fnNetSendPacket, core.NetdevTxOK)
}

// writewords is the driver's writewords(): one iowrite16 to TX_FRAME_PORT
// per two bytes. The chip starts sending once 381 bytes are in
// (TX_AFTER_381), while the CPU is still copying the rest.
func (n *NIC) writewords(k *kernel.Kernel, data []byte) {
	words := (len(data) + 1) / 2
	k.Call(fnWritewords).Note = fmt.Sprintf("%d iowrite16 to TX_FRAME_PORT, %d ns each", words, ioWordNs)
	startWords := min(words, (txAfter381+1)/2)
	k.Spend(int64(startWords) * ioWordNs)
	start := k.Now()
	k.Spend(int64(words-startWords) * ioWordNs)
	n.transmit(append([]byte(nil), data...), start)
	k.RetVoid(fnWritewords)
}

// netInterrupt is net_interrupt(), the hard interrupt handler: read
// ISQ_PORT until it says 0, and act on each event. A received frame is
// copied out by net_rx; a transmit completion counts the packet and
// wakes the queue (netif_wake_queue from hard interrupt context: NET_TX
// runs the qdisc on irq_exit); a BufEvent with Rdy4Tx wakes it too.
func (n *NIC) netInterrupt() {
	k := n.k
	k.Call(fnNetInterrupt).Note = "read ISQ_PORT until it returns 0"
	handled := false
	for {
		ev, ok := n.readISQ()
		if !ok {
			break
		}
		handled = true
		k.Note(trace.State, fmt.Sprintf("ISQ: %s", ev))
		switch ev {
		case isqRx:
			n.netRx(k)
		case isqTx:
			n.Dev.TxPackets++
			n.Dev.NetifWakeQueue(k)
		case isqBuffer:
			n.Dev.NetifWakeQueue(k)
		}
	}
	ret := "IRQ_NONE"
	if handled {
		ret = "IRQ_HANDLED"
	}
	k.RetS(fnNetInterrupt, ret)
}

// netRx is net_rx(): read the frame's status and length, allocate an skb
// two bytes longer and reserve those two (so the IP header is 4-byte
// aligned), copy the frame out with readwords and hand it to netif_rx:
// no NAPI, the per-CPU backlog does the rest in NET_RX.
func (n *NIC) netRx(k *kernel.Kernel) {
	k.Call(fnNetRx).Note = "status and length from RX_FRAME_PORT"
	frame := n.readRxFrame()
	if frame == nil {
		k.RetVoid(fnNetRx)
		return
	}
	s := core.NetdevAllocSkb(k, len(frame)+2)
	if err := s.Reserve(2); err != nil {
		k.Note(trace.State, err.Error(), s)
	}
	b, err := s.PutBytes(len(frame))
	if err != nil {
		k.Note(trace.State, err.Error(), s)
		n.Dev.RxDropped++
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetVoid(fnNetRx)
		return
	}
	n.readwords(k, b, frame)
	s.Protocol = ethernet.EthTypeTrans(k, s, n.Dev)
	n.Dev.Net.NetifRxAny(k, s)
	n.Dev.RxPackets++
	n.Dev.RxBytes += len(frame)
	k.RetVoid(fnNetRx)
}

// readwords is the driver's readwords(): one ioread16 from RX_FRAME_PORT
// per two bytes into the skb.
func (n *NIC) readwords(k *kernel.Kernel, dst, frame []byte) {
	words := len(frame) / 2
	k.Call(fnReadwords).Note = fmt.Sprintf("%d ioread16 from RX_FRAME_PORT into skb_put's room", words)
	copy(dst, frame)
	k.Spend(int64(words) * ioWordNs)
	k.RetVoid(fnReadwords)
}
