// Package nictest is a bench for NIC model tests: host A's device, with
// pfifo_fast, cabled to host B's, and a task on A that hands frames to
// dev_queue_xmit.
package nictest

import (
	"net/netip"

	"skbscope/nicsim"
	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// Rig is the two hosts and their NICs of model N.
type Rig[N nicsim.Port] struct {
	Sim  *kernel.Sim
	K    *kernel.Kernel // A's
	Dev  *core.Device   // A's eth0
	Q    *sched.PfifoFast
	A, B N
}

// New builds the rig: newNIC makes a NIC for a device, attach cables it.
func New[N nicsim.Port](rateBps int64, newNIC func(*kernel.Kernel, *core.Device) N, attach func(N, *nicsim.Link)) *Rig[N] {
	sim := kernel.NewSim(1)
	r := &Rig[N]{Sim: sim}
	var nics [2]N
	for i, name := range []string{"A", "B"} {
		k := sim.NewKernel(name, 1)
		c := core.NewNet(k, sched.Runner{})
		dev := &core.Device{Name: "eth0", Addr: header.MAC{2, 0, 0, 0, 0, byte(i + 1)}, MTU: 1500, Up: true, TxQueueLen: 1000}
		c.AddDevice(dev)
		nics[i] = newNIC(k, dev)
		dev.Qdisc = sched.NewPfifoFast(dev)
		if i == 0 {
			r.K, r.Dev = k, dev
			r.Q = dev.Qdisc.(*sched.PfifoFast)
		}
	}
	l := nicsim.NewLink(sim, "lan0", rateBps, 0, nics[0], nics[1])
	attach(nics[0], l)
	attach(nics[1], l)
	r.A, r.B = nics[0], nics[1]
	return r
}

// Frame makes an skb holding a 60-byte Ethernet frame to B; id marks it
// (its last byte).
func (r *Rig[N]) Frame(id byte) *skb.SKB {
	s := core.AllocSkb(r.K, 128)
	_ = s.Reserve(16)
	b, _ := s.PutBytes(60)
	header.Ethernet(b).Encode(header.MAC{2, 0, 0, 0, 0, 2}, r.Dev.Addr, header.EtherTypeIPv4)
	s.SetNetworkHeader(14)
	header.IPv4(b[14:]).Encode(0, 0, 0, 64, header.ProtoUDP, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	b[59] = id
	return s
}

// Send queues n frames from a task on A, back to back, and runs the
// simulation for 100 ms.
func (r *Rig[N]) Send(n int) {
	ctx := kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}
	r.K.RunOn(0, 0, ctx, func() {
		for i := range n {
			core.DevQueueXmit(r.K, r.Dev, r.Frame(byte(i+1)))
		}
	})
	r.Sim.Run(100_000_000)
}

// Count is how many events of tr match.
func Count(tr *trace.Trace, match func(e *trace.Event) bool) int {
	n := 0
	for i := range tr.Events {
		if match(&tr.Events[i]) {
			n++
		}
	}
	return n
}
