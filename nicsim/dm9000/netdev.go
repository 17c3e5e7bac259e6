package dm9000

import (
	"fmt"
	"strings"

	"skbscope/stack/core"
	"skbscope/stack/ethernet"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const dm9000C = "drivers/net/ethernet/davicom/dm9000.c"

var (
	fnStartXmit  = kernel.NewFn("dm9000_start_xmit", dm9000C, "driver")
	fnOutblk     = kernel.NewFn("dm9000_outblk_16bit", dm9000C, "driver")
	fnSendPacket = kernel.NewFn("dm9000_send_packet", dm9000C, "driver")
	fnInterrupt  = kernel.NewFn("dm9000_interrupt", dm9000C, "driver")
	fnTxDone     = kernel.NewFn("dm9000_tx_done", dm9000C, "driver")
	fnRx         = kernel.NewFn("dm9000_rx", dm9000C, "driver")
	fnInblk      = kernel.NewFn("dm9000_inblk_16bit", dm9000C, "driver")
)

// NdoStartXmit is dm9000_start_xmit(), the driver's ndo_start_xmit (the
// seed's dev->hard_start_xmit). With two frames already in the TX SRAM
// it returns NETDEV_TX_BUSY at once. Otherwise, under
// spin_lock_irqsave, it copies the frame into the SRAM and counts it:
// the first is sent at once, the second waits in the SRAM
// (queue_pkt_len) and stops the queue. The skb is freed either way: its
// bytes are in the chip.
func (n *NIC) NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *core.Device) core.NetdevTx {
	e := k.Call(fnStartXmit, s)
	if n.txPktCnt > 1 {
		n.TxBusyCount++
		e.Note = fmt.Sprintf("tx_pkt_cnt %d: both TX SRAM slots are full", n.txPktCnt)
		return kernel.Ret(k, fnStartXmit, core.NetdevTxBusy)
	}
	e.Note = "spin_lock_irqsave(&db->lock): the interrupt handler shares the chip's registers"
	n.outblk(k, s.Data())
	n.Dev.TxBytes += s.Len()
	n.txPktCnt++
	if n.txPktCnt == 1 {
		k.Note(trace.State, "tx_pkt_cnt 1: the SRAM was idle, send this frame now", s)
		n.sendPacket(k, s.Len())
	} else {
		n.queuePktLen = s.Len()
		k.Note(trace.State, fmt.Sprintf("tx_pkt_cnt 2: a frame is still going out; this one waits in the SRAM (queue_pkt_len %d)", n.queuePktLen), s)
		n.Dev.NetifStopQueue(k)
	}
	k.Note(trace.State, "spin_unlock_irqrestore(&db->lock); dev_consume_skb_any: the bytes are in the chip", s)
	n.Dev.Net.DevKfreeSkbAnyReason(k, s, skb.Consumed)
	return kernel.Ret(k, fnStartXmit, core.NetdevTxOK)
}

// outblk is dm9000_outblk_16bit(), the board's outblk for a 16-bit bus:
// after writeb(MWCMD), one 16-bit write to the data port per two bytes,
// each landing in the TX SRAM.
func (n *NIC) outblk(k *kernel.Kernel, data []byte) {
	words := (len(data) + 1) / 2
	k.Call(fnOutblk).Note = fmt.Sprintf("writeb(DM9000_MWCMD), then iowrite16_rep: %d words into the TX SRAM", words)
	k.Spend(int64(words) * ioWordNs)
	n.writeTxSRAM(append([]byte(nil), data...))
	k.RetVoid(fnOutblk)
}

// sendPacket is dm9000_send_packet(): write the frame's length to
// TXPLL/TXPLH and set TCR_TXREQ; the chip clears it when done.
func (n *NIC) sendPacket(k *kernel.Kernel, length int) {
	k.Call(fnSendPacket).Note = fmt.Sprintf("iow TXPLL/TXPLH = %d, iow TCR = TCR_TXREQ", length)
	n.txRequest(length)
	k.RetVoid(fnSendPacket)
}

// interrupt is dm9000_interrupt(), the hard interrupt handler: take the
// lock, mask the chip's interrupts, read and clear ISR; received frames
// go to dm9000_rx, a finished transmit to dm9000_tx_done; unmask.
func (n *NIC) interrupt() {
	k := n.k
	e := k.Call(fnInterrupt)
	n.imrMasked = true
	isr := n.readClearISR()
	e.Note = fmt.Sprintf("spin_lock_irqsave; mask interrupts; ISR = %s, cleared", isr)
	if strings.Contains(isr, "PRS") {
		n.rx(k)
	}
	if strings.Contains(isr, "PTS") {
		n.txDone(k)
	}
	k.Note(trace.State, "unmask interrupts (IMR); spin_unlock_irqrestore")
	n.imrMasked = false
	n.maybeInterrupt()
	k.RetS(fnInterrupt, "IRQ_HANDLED")
}

// txDone is dm9000_tx_done(): read NSR; if a frame finished, count it
// down in tx_pkt_cnt, start the waiting second frame if there is one,
// and wake the queue.
func (n *NIC) txDone(k *kernel.Kernel) {
	e := k.Call(fnTxDone)
	tx1, tx2 := n.readClearNSR()
	if !tx1 && !tx2 {
		e.Note = "NSR: no transmit ended"
		k.RetVoid(fnTxDone)
		return
	}
	n.txPktCnt--
	n.Dev.TxPackets++
	e.Note = fmt.Sprintf("NSR TX1END %v TX2END %v: one frame sent, tx_pkt_cnt now %d", tx1, tx2, n.txPktCnt)
	if n.txPktCnt > 0 {
		n.sendPacket(k, n.queuePktLen)
	}
	n.Dev.NetifWakeQueue(k)
	k.RetVoid(fnTxDone)
}

// rx is dm9000_rx(): while the chip says a frame is ready, read its
// 4-byte header (status, length), allocate an skb, reserve 2 bytes,
// copy the frame out with inblk (the 4-byte FCS is read too but not
// kept), eth_type_trans and netif_rx: no NAPI.
func (n *NIC) rx(k *kernel.Kernel) {
	k.Call(fnRx)
	for {
		frame := n.readRx()
		if frame == nil {
			k.Note(trace.State, "MRCMDX: no packet ready (DM9000_PKT_RDY clear)")
			break
		}
		rxLen := len(frame) + 4 // RxLen counts the FCS
		s := core.NetdevAllocSkb(k, rxLen+4)
		if err := s.Reserve(2); err != nil {
			k.Note(trace.State, err.Error(), s)
		}
		b, err := s.PutBytes(rxLen - 4)
		if err != nil {
			k.Note(trace.State, err.Error(), s)
			n.Dev.RxDropped++
			core.KfreeSkbReason(k, s, skb.NotSpecified)
			continue
		}
		n.inblk(k, b, frame, rxLen)
		n.Dev.RxBytes += rxLen
		s.Protocol = ethernet.EthTypeTrans(k, s, n.Dev)
		n.Dev.Net.NetifRxAny(k, s)
		n.Dev.RxPackets++
	}
	k.RetVoid(fnRx)
}

// inblk is dm9000_inblk_16bit(): read RxLen bytes from the data port
// after MRCMD, 16 bits at a time.
func (n *NIC) inblk(k *kernel.Kernel, dst, frame []byte, rxLen int) {
	words := (rxLen + 1) / 2
	k.Call(fnInblk).Note = fmt.Sprintf("MRCMD, ioread16_rep: %d words (frame and FCS) out of the RX SRAM", words)
	copy(dst, frame)
	k.Spend(int64(words) * ioWordNs)
	k.RetVoid(fnInblk)
}
