// Package packet models net/packet/af_packet.c: the AF_PACKET sockets
// tcpdump and Wireshark open. A tap copies each frame it is given into its
// ring (TPACKET_V3, as libpcap uses) and frees its reference.
package packet

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

var fnTpacketRcv = kernel.NewFn("tpacket_rcv", "net/packet/af_packet.c", "dev")

// Tap is a packet socket bound to one device, as `tcpdump -i DEV` opens.
type Tap struct {
	Program string
	Frames  [][]byte // the ring: what tcpdump will read
}

// Func is tpacket_rcv(): copy from the MAC header into the ring and
// consume the skb.
func (t *Tap) Func(k *kernel.Kernel, s *skb.SKB, dev *core.Device) {
	e := k.Call(fnTpacketRcv, s)
	frame := append([]byte(nil), s.At(s.MACHeader, s.TailOff()-s.MACHeader)...)
	t.Frames = append(t.Frames, frame)
	e.Note = fmt.Sprintf("%s: %d bytes copied into the packet ring, %s", t.Program, len(frame), s.PktType)
	q := k.Event(trace.Enqueue, nil)
	q.Queue, q.QLen, q.Frame = t.Program+" packet ring", len(t.Frames), frame
	core.ConsumeSkb(k, s)
	k.RetS(fnTpacketRcv, "0")
}
