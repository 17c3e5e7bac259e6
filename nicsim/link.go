// Package nicsim models NIC hardware and the wires between them. Drivers
// (the kernel half of a NIC) live beside their hardware model, one package
// per NIC, so a learner finds e1000_xmit_frame next to the ring it fills.
package nicsim

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

// Ethernet framing overhead on the wire beyond the frame itself.
const (
	FCSLen      = 4  // frame check sequence, added by the MAC
	PreambleLen = 8  // preamble and start-of-frame delimiter
	IFGLen      = 12 // inter-frame gap
	MinFrameLen = 60 // ETH_ZLEN: shorter frames are padded by the MAC
)

// Port is one end of a link: what a NIC's PHY offers the wire.
type Port interface {
	// Kernel is the host the NIC belongs to (for recording).
	Kernel() *kernel.Kernel
	// Arrive delivers a whole frame (no FCS) at the current time.
	Arrive(frame []byte)
}

// Link is a full-duplex point-to-point Ethernet cable.
type Link struct {
	Name    string
	RateBps int64 // bits per second, each direction
	DelayNs int64 // propagation delay
	ends    [2]Port
	// LossPct is the chance, in percent, that a frame is lost on the way
	// (drawn from the simulation's seeded random source).
	LossPct float64
	// ReorderPct is the chance a frame is held back (by a few frame
	// times), so that the next ones overtake it; DupPct the chance it is
	// delivered twice.
	ReorderPct, DupPct float64
	// BitsPerByte, when set, makes the link an asynchronous serial line
	// (a UART's TxD to the other's RxD): each byte costs that many bit
	// times (10 for 8N1: start bit, 8 data bits, stop bit) and there is
	// no Ethernet preamble, FCS or gap. Zero is Ethernet.
	BitsPerByte int
	busy        [2]int64 // per direction: when the line is next free
	Sim         *kernel.Sim
	// Down is the cable cut or unplugged: no PHY at either end sees
	// the other.
	Down bool
}

// CarrierPort is a Port whose PHY notices the link partner come and go.
type CarrierPort interface {
	LinkChange(up bool)
}

// SetDown cuts the cable (down) or mends it: each end's PHY loses or
// finds its partner. A frame already on the wire still arrives.
func (l *Link) SetDown(down bool) {
	if l.Down == down {
		return
	}
	l.Down = down
	for _, p := range l.ends {
		if c, ok := p.(CarrierPort); ok {
			c.LinkChange(!down)
		}
	}
}

// NewLink joins a and b.
func NewLink(sim *kernel.Sim, name string, rateBps, delayNs int64, a, b Port) *Link {
	return &Link{Name: name, RateBps: rateBps, DelayNs: delayNs, ends: [2]Port{a, b}, Sim: sim}
}

// SerialisationNs is how long frame takes to clock out, preamble, FCS and
// inter-frame gap included.
func (l *Link) SerialisationNs(frameLen int) int64 {
	if l.BitsPerByte > 0 {
		bits := int64(frameLen) * int64(l.BitsPerByte)
		return (bits*1_000_000_000 + l.RateBps - 1) / l.RateBps
	}
	bits := int64(PreambleLen+frameLen+FCSLen+IFGLen) * 8
	return (bits*1_000_000_000 + l.RateBps - 1) / l.RateBps
}

// Transmit starts sending frame from port `from` no earlier than t. It
// records the frame on the wire and returns when its last bit has left;
// the far end receives it DelayNs later.
func (l *Link) Transmit(from Port, frame []byte, t int64) (done int64, err error) {
	dir := -1
	for i, p := range l.ends {
		if p == from {
			dir = i
		}
	}
	if dir < 0 {
		return 0, fmt.Errorf("link %s: port not attached", l.Name)
	}
	start := max(t, l.busy[dir])
	done = start + l.SerialisationNs(len(frame))
	l.busy[dir] = done
	to := l.ends[1-dir]
	f := append([]byte(nil), frame...)
	l.Sim.At(start, func() {
		e := from.Kernel().Event(trace.Wire, nil)
		e.Wire = l.Name
		e.Frame = f
		e.Note = fmt.Sprintf("%d bytes on %s at %s: %d ns to clock out, %d ns to the far end",
			len(f), l.Name, rateString(l.RateBps), done-start, l.DelayNs)
		if l.BitsPerByte > 0 {
			e.Note = fmt.Sprintf("%d bytes on the serial line %s at %s, %d bits a byte: %d ns to clock out, %d ns to the far end",
				len(f), l.Name, rateString(l.RateBps), l.BitsPerByte, done-start, l.DelayNs)
		}
	})
	lost := l.LossPct > 0 && l.Sim.Rand().Float64()*100 < l.LossPct
	arrive := done + l.DelayNs
	if l.ReorderPct > 0 && l.Sim.Rand().Float64()*100 < l.ReorderPct {
		arrive += 3 * (done - start) // overtaken by the next few frames
	}
	if l.DupPct > 0 && l.Sim.Rand().Float64()*100 < l.DupPct {
		l.Sim.At(arrive+(done-start), func() { to.Arrive(append([]byte(nil), f...)) })
	}
	l.Sim.At(arrive, func() {
		if lost {
			e := to.Kernel().Event(trace.Drop, nil)
			e.Wire, e.Reason, e.Frame = l.Name, "wire loss", f
			e.Note = fmt.Sprintf("lost on %s (loss %.1f%%): the far end never sees it", l.Name, l.LossPct)
			return
		}
		to.Arrive(f)
	})
	return done, nil
}

func rateString(bps int64) string {
	switch {
	case bps >= 1_000_000_000 && bps%1_000_000_000 == 0:
		return fmt.Sprintf("%d Gbit/s", bps/1_000_000_000)
	case bps >= 1_000_000 && bps%1_000_000 == 0:
		return fmt.Sprintf("%d Mbit/s", bps/1_000_000)
	}
	return fmt.Sprintf("%d bit/s", bps)
}
