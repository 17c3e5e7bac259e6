// Package dm9000 models the Davicom DM9000 (the DM9000A without checksum
// offload), the other embedded Ethernet chip of seed 002, and its kernel
// driver (drivers/net/ethernet/davicom/dm9000.c).
//
// hw.go is the chip: 16 KiB of SRAM, 3 KiB of it for transmit, room for
// two frames. The CPU copies frames in and out over a 16-bit data port;
// the chip sends one frame when the driver sets TCR_TXREQ and reports
// completions and receptions in its interrupt status register (ISR).
// netdev.go is the driver.
//
// Source: https://elixir.bootlin.com/linux/v6.12/source/drivers/net/ethernet/davicom/dm9000.c
package dm9000

import (
	"fmt"
	"strings"

	"skbscope/nicsim"
	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

const (
	// RateBps is the speed this model runs the chip at: 10BASE-T, like
	// the CS8900A beside it (the DM9000 also does 100 Mbit/s).
	RateBps = 10_000_000
	// ioWordNs is one 16-bit access to the data port (outblk/inblk): an
	// order of magnitude for an ARM board's static memory bus.
	ioWordNs = 100
	// rxSRAM is the receive part of the chip's SRAM (16 KiB less 3 KiB).
	rxSRAM = 13 * 1024
)

// NIC is the chip plus the driver's private data (struct board_info).
type NIC struct {
	k    *kernel.Kernel
	Dev  *core.Device
	Link *nicsim.Link

	// Chip state.
	txSRAM    [][]byte // frames written into the TX SRAM, oldest first
	sending   bool     // TCR_TXREQ set: the oldest frame is on its way out
	rxFrames  [][]byte // frames in the RX SRAM
	rxBytes   int
	isr       string // latched ISR bits: "PRS" (received), "PTS" (sent)
	imrMasked bool   // the driver masked interrupts (IMR = PAR only)
	irqQueued bool

	// Driver state (board_info).
	txPktCnt       int // tx_pkt_cnt: frames in the TX SRAM
	queuePktLen    int // queue_pkt_len: length of the second, waiting frame
	TxCount        int
	RxMissed       int
	TxBusyCount    int
	tx1End, tx2End bool // NSR TX1END/TX2END: which TX slot completed
	nextSlot       int  // the chip alternates its two TX "index" slots
}

// New makes the chip and its driver for dev on host k.
func New(k *kernel.Kernel, dev *core.Device) *NIC {
	n := &NIC{k: k, Dev: dev}
	dev.Ops = n
	dev.Features = 0 // DM9000A/E: the driver offers no offloads
	dev.Driver = "dm9000"
	return n
}

// Kernel is the host the chip sits in.
func (n *NIC) Kernel() *kernel.Kernel { return n.k }

func (n *NIC) txName() string { return n.Dev.Name + " DM9000 TX SRAM" }
func (n *NIC) rxName() string { return n.Dev.Name + " DM9000 RX SRAM" }

// writeTxSRAM is the data the driver writes after MWCMD landing in the
// TX SRAM.
func (n *NIC) writeTxSRAM(frame []byte) {
	n.txSRAM = append(n.txSRAM, frame)
	e := n.k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen, e.Frame = n.txName(), len(n.txSRAM), frame
	e.Note = fmt.Sprintf("%s: a %d-byte frame written into the DM9000's TX SRAM", n.Dev.Name, len(frame))
}

// txRequest is the driver setting TXPLL/TXPLH and TCR_TXREQ: the chip
// sends the oldest frame in its TX SRAM, padded, with the FCS (added by
// the link), and on completion sets NSR TXnEND and ISR PTS.
func (n *NIC) txRequest(length int) {
	if n.sending || len(n.txSRAM) == 0 {
		n.k.Note(trace.State, n.Dev.Name+": TCR_TXREQ while a transmit is in progress: ignored by the chip")
		return
	}
	n.sending = true
	frame := n.txSRAM[0][:min(length, len(n.txSRAM[0]))]
	if len(frame) < nicsim.MinFrameLen {
		frame = append(append([]byte(nil), frame...), make([]byte, nicsim.MinFrameLen-len(frame))...)
	}
	done, err := n.Link.Transmit(n, frame, n.k.Now())
	if err != nil {
		n.k.Note(trace.State, err.Error())
		return
	}
	slot := n.nextSlot
	n.nextSlot ^= 1
	n.k.Sim.At(done, func() {
		n.sending = false
		n.txSRAM = n.txSRAM[1:]
		n.TxCount++
		if slot == 0 {
			n.tx1End = true
		} else {
			n.tx2End = true
		}
		e := n.k.Event(trace.Dequeue, nil)
		e.Queue, e.QLen = n.txName(), len(n.txSRAM)
		e.Note = fmt.Sprintf("%s: frame sent, NSR TX%dEND set", n.Dev.Name, slot+1)
		n.latch("PTS")
	})
}

// Arrive is the chip receiving a frame: into the RX SRAM, ISR PRS; with
// the SRAM full the frame is lost (a FIFO overflow).
func (n *NIC) Arrive(frame []byte) {
	if n.rxBytes+len(frame)+4 > rxSRAM {
		n.RxMissed++
		n.k.Note(trace.Drop, n.Dev.Name+": the DM9000's RX SRAM is full, frame lost").Reason = "rx_fifo_errors"
		return
	}
	n.rxFrames = append(n.rxFrames, frame)
	n.rxBytes += len(frame) + 4
	e := n.k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen, e.Frame = n.rxName(), len(n.rxFrames), frame
	e.Note = fmt.Sprintf("%s: a %d-byte frame (and its 4-byte header) into the RX SRAM", n.Dev.Name, len(frame))
	n.latch("PRS")
}

// latch sets an ISR bit and, unless the driver has interrupts masked,
// asserts the interrupt line.
func (n *NIC) latch(bit string) {
	if !strings.Contains(n.isr, bit) {
		n.isr = strings.TrimSpace(n.isr + " " + bit)
	}
	n.maybeInterrupt()
}

func (n *NIC) maybeInterrupt() {
	if n.isr == "" || n.imrMasked || n.irqQueued {
		return
	}
	n.irqQueued = true
	n.k.Sim.At(n.k.Sim.Now(), func() {
		e := n.k.Event(trace.IRQ, nil)
		e.Note = fmt.Sprintf("%s raises its interrupt line (ISR %s)", n.Dev.Name, n.isr)
		n.k.RunOn(n.k.Sim.Now(), 0, kernel.Context{Kind: kernel.CtxHardirq, Name: n.Dev.Name}, func() {
			n.irqQueued = false
			n.k.HardIRQ(n.Dev.Name, n.interrupt)
		})
	})
}

// readClearISR is the driver's ior(ISR) and iow(ISR, status).
func (n *NIC) readClearISR() string {
	s := n.isr
	n.isr = ""
	return s
}

// readClearNSR is ior(NSR) in dm9000_tx_done: TX1END/TX2END, cleared by
// the read.
func (n *NIC) readClearNSR() (tx1, tx2 bool) {
	tx1, tx2 = n.tx1End, n.tx2End
	n.tx1End, n.tx2End = false, false
	return
}

// readRx is the driver's MRCMDX peek and MRCMD read: the next received
// frame, leaving the SRAM.
func (n *NIC) readRx() []byte {
	if len(n.rxFrames) == 0 {
		return nil
	}
	f := n.rxFrames[0]
	n.rxFrames = n.rxFrames[1:]
	n.rxBytes -= len(f) + 4
	e := n.k.Event(trace.Dequeue, nil)
	e.Queue, e.QLen = n.rxName(), len(n.rxFrames)
	return f
}
