package nicsim

import (
	"errors"

	"skbscope/stack/kernel"
)

// Bridge is the far end of a link that leaves the simulation: the cable
// plugs into a WebSocket↔TAP bridge and so into a real network. Frames
// the simulated NIC sends collect in an outbox for the caller to forward;
// frames from outside are put on the cable with Inject, at the current
// virtual time. The simulation itself stays single-threaded: whoever runs
// it calls Inject and Outbox between steps.
type Bridge struct {
	Link *Link
	peer Port // the simulated NIC, for recording frames from outside
	out  [][]byte
}

// NewBridge returns the outside end of a link whose other end is peer.
func NewBridge(peer Port) *Bridge { return &Bridge{peer: peer} }

// Kernel is the simulated host's: a frame from outside is recorded on the
// wire of the host that receives it.
func (b *Bridge) Kernel() *kernel.Kernel { return b.peer.Kernel() }

// Arrive takes a frame the simulated NIC sent, for the outbox.
func (b *Bridge) Arrive(frame []byte) { b.out = append(b.out, frame) }

// Outbox returns the frames sent to the outside since the last call.
func (b *Bridge) Outbox() [][]byte {
	out := b.out
	b.out = nil
	return out
}

// Inject puts a frame from outside on the cable now. Frames shorter than
// an Ethernet header are refused, as a PHY would never deliver them; the
// NIC model judges the rest.
func (b *Bridge) Inject(frame []byte) error {
	if len(frame) < 14 {
		return errShort
	}
	_, err := b.Link.Transmit(b, frame, b.Link.Sim.Now())
	return err
}

var errShort = errors.New("frame shorter than an Ethernet header")
