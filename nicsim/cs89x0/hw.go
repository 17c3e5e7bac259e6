// Package cs89x0 models the Cirrus Logic CS8900A, the ISA/embedded
// Ethernet chip of seed 002, and the kernel's driver for it. The chip is
// the CS8900A; its driver, in Linux 6.12 as in 2.6, is cs89x0
// (drivers/net/ethernet/cirrus/cs89x0.c, "cs89x0" because it drives the
// CS8900 and CS8920 alike), so the package, the scenario model and
// dev->driver use the driver's name.
//
// hw.go is the chip: no descriptor rings and no DMA in this model
// (the ISA DMA option of the driver is off, as on the seed's boards).
// The CPU copies every frame through a 16-bit I/O port into the chip's
// one transmit buffer; the chip sends it at 10 Mbit/s and reports events
// through its Interrupt Status Queue (ISQ). cs89x0.go is the driver.
//
// Source: https://elixir.bootlin.com/linux/v6.12/source/drivers/net/ethernet/cirrus/cs89x0.c
package cs89x0

import (
	"fmt"

	"skbscope/nicsim"
	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

const (
	// RateBps is the CS8900A's only speed: 10BASE-T.
	RateBps = 10_000_000
	// ioWordNs is one 16-bit access to the chip's I/O port: the cost of
	// the CPU copying a frame in (writewords) or out (readwords). An order
	// of magnitude for a memory-mapped chip on an ARM board, not a
	// measurement.
	ioWordNs = 100
	// txAfter381 is the driver's default send command, TX_AFTER_381: the
	// chip starts to transmit once 381 bytes are in its buffer (or all of
	// a shorter frame), while the CPU is still copying the rest.
	txAfter381 = 381
	// rxMemory is what the chip's 4 KiB of packet RAM leaves for
	// received frames beside one maximum-size transmit frame.
	rxMemory = 4096 - 1536
)

// ISQ event kinds the driver's net_interrupt distinguishes
// (ISQ_*_EVENT in cs89x0.h).
type isqEvent int

const (
	isqRx     isqEvent = iota // RxEvent: a frame is ready (RX_OK)
	isqTx                     // TxEvent: the frame went out (TX_OK)
	isqBuffer                 // BufEvent: Rdy4Tx, buffer space for a transmit came free
)

func (e isqEvent) String() string {
	return [...]string{"RxEvent (RX_OK)", "TxEvent (TX_OK)", "BufEvent (Rdy4Tx)"}[e]
}

// NIC is the chip plus the driver's private data (struct net_local).
type NIC struct {
	k    *kernel.Kernel
	Dev  *core.Device
	Link *nicsim.Link

	txBusy    bool     // a frame sits in the transmit buffer until TxEvent
	waitRdy4T bool     // a transmit was refused: raise Rdy4Tx when space comes
	rx        [][]byte // received frames in the chip's RAM, oldest first
	rxBytes   int
	isq       []isqEvent
	irqQueued bool // the interrupt line is asserted, not yet serviced

	// BufferHeldUntil makes the chip refuse buffer space for a transmit
	// (PP_BusST without Rdy4TxNOW) until this virtual time: what happens
	// when its RAM is taken, the case the driver's "Tx buffer not free!"
	// handles. Zero, the normal case, never refuses.
	BufferHeldUntil int64

	TxCount, RxMissed, TxBusyCount int
}

// New makes the chip and its driver for dev on host k.
func New(k *kernel.Kernel, dev *core.Device) *NIC {
	n := &NIC{k: k, Dev: dev}
	dev.Ops = n
	dev.Features = 0 // no checksum offload, no scatter-gather
	dev.Driver = "cs89x0"
	return n
}

// Kernel is the host the chip sits in.
func (n *NIC) Kernel() *kernel.Kernel { return n.k }

func (n *NIC) txBufName() string { return n.Dev.Name + " CS8900A TX buffer" }
func (n *NIC) rxBufName() string { return n.Dev.Name + " CS8900A RX buffer" }

// txCommand is the driver writing TX_CMD and TX_LEN: the chip tries to
// allocate buffer space for a frame and reports in PP_BusST whether it
// did (Rdy4TxNOW).
func (n *NIC) txCommand() bool {
	if n.txBusy || n.k.Now() < n.BufferHeldUntil {
		n.waitRdy4T = true
		if !n.txBusy {
			// Space comes back when the RAM is released: tell the driver
			// with a BufEvent then.
			n.k.Sim.At(n.BufferHeldUntil, n.bufferFree)
		}
		return false
	}
	n.txBusy = true
	return true
}

// bufferFree is the chip finding room again after a refused transmit:
// BufEvent with Rdy4Tx, if the driver enabled it (net_open does).
func (n *NIC) bufferFree() {
	switch {
	case !n.waitRdy4T || n.txBusy:
	case n.k.Sim.Now() < n.BufferHeldUntil:
		n.k.Sim.At(n.BufferHeldUntil, n.bufferFree)
	default:
		n.waitRdy4T = false
		n.post(isqBuffer, "buffer space for a transmit is free again")
	}
}

// transmit is the chip clocking out the frame the CPU is writing into
// it, starting at start (when the 381st byte, or the last, was written).
// It pads short frames and appends the FCS (the link adds that); when
// the last bit is out it posts TxEvent and interrupts.
func (n *NIC) transmit(frame []byte, start int64) {
	if len(frame) < nicsim.MinFrameLen {
		frame = append(frame, make([]byte, nicsim.MinFrameLen-len(frame))...)
	}
	e := n.k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen, e.Frame = n.txBufName(), 1, frame
	e.Note = fmt.Sprintf("%s: the CS8900A holds the %d-byte frame in its one transmit buffer", n.Dev.Name, len(frame))
	done, err := n.Link.Transmit(n, frame, start)
	if err != nil {
		n.k.Note(trace.State, err.Error())
		return
	}
	n.k.Sim.At(done, func() {
		n.txBusy = false
		n.TxCount++
		e := n.k.Event(trace.Dequeue, nil)
		e.Queue, e.QLen = n.txBufName(), 0
		e.Note = n.Dev.Name + ": frame sent, the transmit buffer is free"
		n.post(isqTx, "transmit complete")
		if n.waitRdy4T {
			n.bufferFree()
		}
	})
}

// Arrive is the chip receiving a frame from the wire: it keeps it in its
// RAM and posts RxEvent; with no room the frame is missed (RxMISS).
func (n *NIC) Arrive(frame []byte) {
	if n.rxBytes+len(frame) > rxMemory {
		n.RxMissed++
		n.k.Note(trace.Drop, n.Dev.Name+": the CS8900A's RAM is full, frame missed (RxMISS)").Reason = "rx_missed_errors"
		return
	}
	n.rx = append(n.rx, frame)
	n.rxBytes += len(frame)
	e := n.k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen, e.Frame = n.rxBufName(), len(n.rx), frame
	e.Note = fmt.Sprintf("%s: a %d-byte frame received into the CS8900A's RAM", n.Dev.Name, len(frame))
	n.post(isqRx, "frame received")
}

// post adds an event to the ISQ and asserts the interrupt line if it is
// not asserted already: one interrupt serves every event queued by the
// time the handler reads the ISQ.
func (n *NIC) post(ev isqEvent, why string) {
	n.isq = append(n.isq, ev)
	if n.irqQueued {
		return
	}
	n.irqQueued = true
	at := n.k.Sim.Now()
	n.k.Sim.At(at, func() {
		e := n.k.Event(trace.IRQ, nil)
		e.Note = fmt.Sprintf("%s raises its interrupt line: %s (%s)", n.Dev.Name, why, ev)
		n.k.RunOn(n.k.Sim.Now(), 0, kernel.Context{Kind: kernel.CtxHardirq, Name: n.Dev.Name}, func() {
			n.k.HardIRQ(n.Dev.Name, n.netInterrupt)
		})
	})
}

// readISQ is the driver reading ISQ_PORT: the oldest event, or false
// when the queue is empty (the chip returns 0) and the line drops.
func (n *NIC) readISQ() (isqEvent, bool) {
	if len(n.isq) == 0 {
		n.irqQueued = false
		return 0, false
	}
	ev := n.isq[0]
	n.isq = n.isq[1:]
	return ev, true
}

// readRxFrame is the driver reading status and length from
// RX_FRAME_PORT: the oldest received frame, which leaves the chip.
func (n *NIC) readRxFrame() []byte {
	if len(n.rx) == 0 {
		return nil
	}
	f := n.rx[0]
	n.rx = n.rx[1:]
	n.rxBytes -= len(f)
	e := n.k.Event(trace.Dequeue, nil)
	e.Queue, e.QLen = n.rxBufName(), len(n.rx)
	return f
}
