// Package e1000e models an Intel 82574-class descriptor-ring NIC and the
// kernel's e1000e driver for it (drivers/net/ethernet/intel/e1000e/).
// hw.go is the hardware: rings in host memory that the NIC reads and
// writes by DMA, a MAC that pads and clocks frames onto the link, and an
// interrupt line with throttling. netdev.go is the driver.
package e1000e

import (
	"fmt"

	"skbscope/nicsim"
	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// Ring sizes: the driver's defaults (E1000_DEFAULT_TXD/RXD).
const (
	DefaultTxRing = 256
	DefaultRxRing = 256
	// dmaLatencyNs is how long the NIC takes to fetch a descriptor and its
	// buffer over PCIe after the doorbell: an order of magnitude, not a
	// measurement of one board.
	dmaLatencyNs = 500
	// DefaultITRNs is the minimum gap between interrupts the driver
	// programs by default (InterruptThrottleRate ~ 20000/s dynamic).
	DefaultITRNs = 50_000
)

// txDesc is a TX descriptor with the driver's e1000_buffer beside it.
type txDesc struct {
	skb  *skb.SKB // buffer_info->skb: freed when the descriptor is cleaned
	done bool     // the NIC wrote back DD
}

// rxDesc is an RX descriptor: a DMA buffer the NIC fills.
type rxDesc struct {
	frame []byte
}

// NIC is the adapter: hardware state plus the driver's private data
// (struct e1000_adapter).
type NIC struct {
	k    *kernel.Kernel
	Dev  *core.Device
	Link *nicsim.Link

	tx                []txDesc
	txNextToUse       int // driver: next descriptor to fill (TDT)
	txNextToClean     int // driver: next descriptor to reclaim
	txHWHead          int // NIC: next descriptor to send (TDH)
	txBusy            bool
	rx                []rxDesc
	rxHead, rxUsed    int
	lastIRQ           int64
	irqPending        bool
	ITRNs             int64
	RxMissed, TxCount int
}

// New makes an adapter for dev on host k. Attach it to a link with
// nicsim.NewLink before sending.
func New(k *kernel.Kernel, dev *core.Device) *NIC {
	n := &NIC{k: k, Dev: dev, tx: make([]txDesc, DefaultTxRing), rx: make([]rxDesc, DefaultRxRing), ITRNs: DefaultITRNs, lastIRQ: -DefaultITRNs}
	dev.Ops = n
	dev.Driver = "e1000e"
	return n
}

// Kernel is the host the adapter sits in.
func (n *NIC) Kernel() *kernel.Kernel { return n.k }

func (n *NIC) txRingName() string { return n.Dev.Name + " tx_ring" }
func (n *NIC) rxRingName() string { return n.Dev.Name + " rx_ring" }

// txUnused is e1000_desc_unused(): free TX descriptors (one is kept empty
// so that head == tail means empty).
func (n *NIC) txUnused() int {
	used := (n.txNextToUse - n.txNextToClean + len(n.tx)) % len(n.tx)
	return len(n.tx) - used - 1
}

func (n *NIC) txUsed() int { return len(n.tx) - 1 - n.txUnused() }

// doorbell is the driver's writel to TDT: the NIC starts fetching.
func (n *NIC) doorbell() {
	if n.txBusy {
		return
	}
	n.txBusy = true
	n.k.Sim.At(n.k.Now()+dmaLatencyNs, n.txNext)
}

// txNext sends the descriptor at TDH, if any: DMA the bytes, pad short
// frames (TCTL.PSP), clock them out, write back DD.
func (n *NIC) txNext() {
	if n.txHWHead == n.txNextToUse {
		n.txBusy = false
		return
	}
	d := &n.tx[n.txHWHead]
	frame := append([]byte(nil), d.skb.Data()...)
	if len(frame) < nicsim.MinFrameLen {
		frame = append(frame, make([]byte, nicsim.MinFrameLen-len(frame))...)
	}
	done, err := n.Link.Transmit(n, frame, n.k.Sim.Now())
	if err != nil {
		n.k.Note(trace.State, err.Error())
		n.txBusy = false
		return
	}
	idx := n.txHWHead
	n.txHWHead = (n.txHWHead + 1) % len(n.tx)
	n.k.Sim.At(done, func() {
		n.tx[idx].done = true
		n.TxCount++
		n.k.Note(trace.State, fmt.Sprintf("%s: TX descriptor %d written back (DD): frame sent", n.Dev.Name, idx), n.tx[idx].skb)
		n.raiseIRQ("TXDW")
		n.txNext()
	})
}

// Arrive is the MAC receiving a frame from the link: DMA it into the next
// RX buffer and interrupt. With no free descriptor the frame is missed
// (the RNBC/MPC counters).
func (n *NIC) Arrive(frame []byte) {
	if n.rxUsed == len(n.rx) {
		n.RxMissed++
		n.k.Note(trace.Drop, n.Dev.Name+": RX ring full, frame missed by the NIC").Reason = "rx_missed_errors"
		return
	}
	n.rx[n.rxHead] = rxDesc{frame: frame}
	n.rxHead = (n.rxHead + 1) % len(n.rx)
	n.rxUsed++
	e := n.k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen = n.rxRingName(), n.rxUsed
	e.Frame = frame
	e.Note = fmt.Sprintf("%s: DMA of a %d-byte frame into RX descriptor %d", n.Dev.Name, len(frame), (n.rxHead-1+len(n.rx))%len(n.rx))
	n.raiseIRQ("RXT0")
}

// raiseIRQ asserts the interrupt for cause, no sooner than ITR allows
// after the previous one; causes that arrive meanwhile share it.
func (n *NIC) raiseIRQ(cause string) {
	if n.irqPending {
		return
	}
	n.irqPending = true
	at := max(n.k.Sim.Now(), n.lastIRQ+n.ITRNs)
	n.k.Sim.At(at, func() {
		n.irqPending = false
		n.lastIRQ = n.k.Sim.Now()
		e := n.k.Event(trace.IRQ, nil)
		e.Note = fmt.Sprintf("%s raises its MSI (ICR %s)", n.Dev.Name, cause)
		n.k.RunOn(n.k.Sim.Now(), 0, kernel.Context{Kind: kernel.CtxHardirq, Name: n.Dev.Name}, n.intrMSI)
	})
}
