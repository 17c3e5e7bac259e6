// Package e1000e models an Intel 82574-class descriptor-ring NIC and the
// kernel's e1000e driver for it (drivers/net/ethernet/intel/e1000e/).
// hw.go is the hardware: rings in host memory that the NIC reads and
// writes by DMA, a MAC that pads and clocks frames onto the link, and an
// interrupt line with throttling. netdev.go is the driver.
package e1000e

import (
	"fmt"
	"strings"

	"skbscope/nicsim"
	"skbscope/stack/core"
	"skbscope/stack/header"
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

// txDesc is a TX descriptor with the driver's e1000_buffer beside it:
// a data descriptor, or a context descriptor that sets up checksum offload
// for the data descriptor after it.
type txDesc struct {
	skb    *skb.SKB // buffer_info->skb, on a packet's last (EOP) descriptor: freed when cleaned
	ctx    *csumCtx // a context descriptor
	length int      // bytes this data descriptor points at
	done   bool     // the NIC wrote back DD
}

// csumCtx is a context descriptor's fields: tucss (checksum start) and
// tucso (where to store it), as offsets into the frame; for TSO also the
// MSS and the length of the headers to replicate in every segment.
type csumCtx struct {
	css, cso    int
	tso         bool
	mss, hdrLen int
}

// maxPerTxd is E1000_MAX_PER_TXD: bytes one data descriptor can carry.
const maxPerTxd = 8192

// rxDesc is an RX descriptor: the buffer the NIC fills, and the status
// it writes back.
type rxDesc struct {
	frame  []byte
	status rxStatus
	skb    *skb.SKB // a buffer the driver allocated at refill; nil: one from ifup
}

// rxStatus is the descriptor write-back's checksum verdict.
type rxStatus struct {
	ipcs, l4cs bool // IPv4 / TCP-UDP checksum checked (IPCS, TCPCS)
	csumErr    bool // IPE or TCPE: a checksum was wrong
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
	txCtx             *csumCtx // the last context descriptor the NIC read
	rx                []rxDesc
	rxHead, rxUsed    int
	rxNextToClean     int
	lastIRQ           int64
	irqPending        bool
	irqMasked         bool   // auto-masked by the ICR read until e1000_irq_enable
	causes            string // interrupt causes latched while masked
	ITRNs             int64
	RxMissed, TxCount int
	napi              *core.NAPI
	down              bool // e1000e_down: RCTL.EN, TCTL.EN and the IRQ off
	linkUp            bool // the PHY has a link
	lsc               bool // ICR.LSC read by the next interrupt
	watchdogTimer     kernel.Timer
	// worker is the kworker that runs the reset task (it may sleep).
	worker *kernel.Task
}

// New makes an adapter for dev on host k. Attach it to a link with
// nicsim.NewLink before sending.
func New(k *kernel.Kernel, dev *core.Device) *NIC {
	n := &NIC{k: k, Dev: dev, tx: make([]txDesc, DefaultTxRing), rx: make([]rxDesc, DefaultRxRing), ITRNs: DefaultITRNs, lastIRQ: -DefaultITRNs}
	n.napi = &core.NAPI{Dev: dev, Weight: core.NapiWeight, Poll: n.poll}
	n.watchdogTimer = kernel.Timer{Name: "e1000_watchdog", Fn: n.watchdog}
	n.linkUp = true
	dev.Ops = n
	// e1000e's defaults (e1000_probe): scatter-gather, checksums both
	// ways, TSO; GSO is the stack's own, on for every device.
	dev.Features = core.FeatSG | core.FeatHWCsum | core.FeatRXCsum | core.FeatTSO | core.FeatGSO
	dev.Driver = "e1000e"
	dev.NetdevTxResetQueue()
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

// txNext sends the packet at TDH, if any: read a context descriptor if
// there is one, DMA the data descriptors up to EOP, then either clock
// the frame out (padding short ones, TCTL.PSP, and inserting the TCP/UDP
// checksum if asked) or, for a TSO packet, cut it into MSS-sized frames
// itself: the headers copied into each, the IP total length, ID (one
// more per frame) and header checksum, the TCP sequence number, flags
// and checksum all rewritten per frame. DD is written back when the last
// frame has left.
func (n *NIC) txNext() {
	if n.txHWHead == n.txNextToUse || n.down {
		n.txBusy = false
		return
	}
	if !n.linkUp {
		// Without a link the MAC sends nothing: the descriptors stay
		// owned by the hardware until the driver resets it.
		n.k.Note(trace.State, fmt.Sprintf("%s: no link: the MAC holds %d TX descriptors", n.Dev.Name, (n.txNextToUse-n.txHWHead+len(n.tx))%len(n.tx)))
		n.txBusy = false
		return
	}
	d := &n.tx[n.txHWHead]
	if d.ctx != nil {
		// A context descriptor: remember the offload setup, move on.
		n.txCtx = d.ctx
		d.done = true
		n.txHWHead = (n.txHWHead + 1) % len(n.tx)
		n.txNext()
		return
	}
	first := n.txHWHead
	for n.tx[n.txHWHead].skb == nil && n.txHWHead != n.txNextToUse {
		n.txHWHead = (n.txHWHead + 1) % len(n.tx) // a data descriptor before EOP
	}
	if n.txHWHead == n.txNextToUse {
		n.txBusy = false
		return
	}
	d = &n.tx[n.txHWHead]
	var frames [][]byte
	if d.skb.GSOSize != 0 && n.txCtx != nil && n.txCtx.tso {
		frames = tsoSegment(d.skb.Data(), n.txCtx.hdrLen, n.txCtx.mss)
	} else {
		frame := append([]byte(nil), d.skb.Data()...)
		if d.skb.IPSummed == skb.ChecksumPartial && n.txCtx != nil {
			// TCP/UDP checksum insertion: sum from tucss to the end of the
			// packet, over the pseudo-header sum the stack stored at tucso.
			core.FinishChecksum(frame[n.txCtx.css:], n.txCtx.cso-n.txCtx.css)
		}
		frames = [][]byte{frame}
	}
	var done int64
	for _, frame := range frames {
		if len(frame) < nicsim.MinFrameLen {
			frame = append(frame, make([]byte, nicsim.MinFrameLen-len(frame))...)
		}
		t, err := n.Link.Transmit(n, frame, n.k.Sim.Now())
		if err != nil {
			n.k.Note(trace.State, err.Error())
			n.txBusy = false
			return
		}
		done = t
	}
	idx := n.txHWHead
	n.txHWHead = (n.txHWHead + 1) % len(n.tx)
	n.k.Sim.At(done, func() {
		for i := first; ; i = (i + 1) % len(n.tx) {
			n.tx[i].done = true
			if i == idx {
				break
			}
		}
		n.TxCount += len(frames)
		note := fmt.Sprintf("%s: TX descriptor %d written back (DD): frame sent", n.Dev.Name, idx)
		if len(frames) > 1 {
			note = fmt.Sprintf("%s: TX descriptor %d written back (DD): TSO cut the packet into %d frames", n.Dev.Name, idx, len(frames))
		}
		n.k.Note(trace.State, note, n.tx[idx].skb)
		n.raiseIRQ("TXDW")
		n.txNext()
	})
}

// tsoSegment is the NIC's TCP segmentation: the first hdrLen bytes of
// pkt (Ethernet, IPv4 and TCP headers) go in front of every mss bytes of
// payload, and each frame's headers are made right for it.
func tsoSegment(pkt []byte, hdrLen, mss int) [][]byte {
	if hdrLen <= header.EthernetLen || hdrLen > len(pkt) || mss <= 0 {
		return [][]byte{append([]byte(nil), pkt...)}
	}
	ip := header.IPv4(pkt[header.EthernetLen:])
	id := ip.ID()
	seq := header.TCP(pkt[header.EthernetLen+ip.IHL():]).Seq()
	payload := pkt[hdrLen:]
	var frames [][]byte
	for off := 0; off < len(payload); off += mss {
		chunk := payload[off:min(off+mss, len(payload))]
		f := make([]byte, 0, hdrLen+len(chunk))
		f = append(append(f, pkt[:hdrLen]...), chunk...)
		header.FixTCPv4Segment(f[header.EthernetLen:], id, seq+uint32(off), off == 0, off+mss >= len(payload), true)
		id++
		frames = append(frames, f)
	}
	return frames
}

// Arrive is the MAC receiving a frame from the link: check its
// checksums (RXCSUM), DMA it into the next RX buffer and interrupt. With
// no free descriptor the frame is missed (the RNBC/MPC counters).
func (n *NIC) Arrive(frame []byte) {
	if n.down {
		n.k.Note(trace.Drop, n.Dev.Name+" is down (RCTL.EN clear): the MAC ignores the frame").Reason = "receiver disabled"
		return
	}
	if n.rxUsed == len(n.rx) {
		n.RxMissed++
		n.k.Note(trace.Drop, n.Dev.Name+": RX ring full, frame missed by the NIC").Reason = "rx_missed_errors"
		return
	}
	slot := n.rxHead
	n.rx[slot].frame = frame
	n.rx[slot].status = checkRx(frame)
	n.rxHead = (n.rxHead + 1) % len(n.rx)
	n.rxUsed++
	e := n.k.Event(trace.Enqueue, nil)
	e.Queue, e.QLen = n.rxRingName(), n.rxUsed
	e.Frame = frame
	e.Note = fmt.Sprintf("%s: DMA of a %d-byte frame into RX descriptor %d", n.Dev.Name, len(frame), slot)
	n.raiseIRQ("RXT0")
}

// checkRx is the NIC's receive checksum offload: it verifies the IPv4
// header checksum and a UDP or TCP checksum.
func checkRx(f []byte) rxStatus {
	var st rxStatus
	if len(f) < header.EthernetLen+header.IPv4MinLen || header.Ethernet(f).Type() != header.EtherTypeIPv4 {
		return st
	}
	ip := header.IPv4(f[header.EthernetLen:])
	ihl, tot := ip.IHL(), ip.TotalLen()
	if ip.Version() != 4 || ihl < header.IPv4MinLen || tot < ihl || tot > len(ip) {
		return st
	}
	st.ipcs = true
	st.csumErr = !ip.ChecksumValid()
	if ip.FragOff()&0x3fff != 0 {
		return st
	}
	seg := ip[ihl:tot]
	switch ip.Protocol() {
	case header.ProtoUDP:
		if len(seg) < header.UDPLen || header.UDP(seg).Checksum() == 0 {
			return st
		}
	case header.ProtoTCP:
	default:
		return st
	}
	st.l4cs = true
	if header.Fold(header.Sum(header.PseudoSum(ip.Src(), ip.Dst(), ip.Protocol(), len(seg)), seg)) != 0xffff {
		st.csumErr = true
	}
	return st
}

// LinkChange is the PHY losing or finding its link partner (the cable
// pulled or plugged in, the far end going away): the link status bit
// changes and, unless the adapter is down, an LSC interrupt tells the
// driver. Back with a link, the MAC resumes sending what its ring holds.
func (n *NIC) LinkChange(up bool) {
	if n.linkUp == up {
		return
	}
	n.linkUp = up
	e := n.k.Event(trace.State, nil)
	e.Note = fmt.Sprintf("%s: PHY link %s (STATUS.LU %v)", n.Dev.Name, map[bool]string{true: "up", false: "lost"}[up], up)
	if !n.down {
		n.raiseIRQ("LSC")
		if up {
			n.doorbell()
		}
	}
}

// raiseIRQ latches cause and asserts the interrupt, no sooner than ITR
// allows after the previous one and not while it is masked; causes that
// arrive meanwhile share one interrupt.
func (n *NIC) raiseIRQ(cause string) {
	if n.down {
		return // the interrupt was freed
	}
	if !strings.Contains(n.causes, cause) {
		n.causes = strings.TrimSpace(n.causes + " " + cause)
	}
	if n.irqPending || n.irqMasked {
		return
	}
	n.irqPending = true
	at := max(n.k.Sim.Now(), n.lastIRQ+n.ITRNs)
	n.k.Sim.At(at, func() {
		n.irqPending = false
		n.irqMasked = true
		n.lastIRQ = n.k.Sim.Now()
		e := n.k.Event(trace.IRQ, nil)
		e.Note = fmt.Sprintf("%s raises its MSI (ICR %s)", n.Dev.Name, n.causes)
		n.lsc = n.lsc || strings.Contains(n.causes, "LSC")
		n.causes = ""
		n.k.RunOn(n.k.Sim.Now(), 0, kernel.Context{Kind: kernel.CtxHardirq, Name: n.Dev.Name}, func() {
			n.k.HardIRQ(n.Dev.Name, n.intrMSI)
		})
	})
}

// irqEnable is the driver's e1000_irq_enable (a write to IMS): unmask,
// and interrupt at once if causes were latched meanwhile.
func (n *NIC) irqEnable() {
	n.irqMasked = false
	if n.causes != "" {
		c := n.causes
		n.causes = ""
		n.raiseIRQ(c)
	}
}
