package sched_test

import (
	"net/netip"

	"skbscope/nicsim/e1000e"
	"skbscope/nicsim/nictest"
	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// qrig is newRig with any qdisc and link rate.
type qrig struct{ *nictest.Rig[*e1000e.NIC] }

var task = kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}

func newQRig(rateBps int64, mk func(k *kernel.Kernel, dev *core.Device) core.Qdisc) *qrig {
	n := nictest.New(rateBps, e1000e.New, cable)
	n.Dev.Qdisc = mk(n.K, n.Dev)
	return &qrig{n}
}

// udp makes an skb holding an Ethernet/IPv4/UDP frame of n bytes from
// source port sport.
func (r *qrig) udp(n int, sport uint16) *skb.SKB {
	s := core.AllocSkb(r.K, n+64)
	_ = s.Reserve(16)
	b, _ := s.PutBytes(n)
	header.Ethernet(b).Encode(header.MAC{2, 0, 0, 0, 0, 2}, r.Dev.Addr, header.EtherTypeIPv4)
	s.SetNetworkHeader(14)
	s.Protocol = 0x0800
	header.IPv4(b[14:]).Encode(0, 0, 0, 64, header.ProtoUDP, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	b[34], b[35], b[36], b[37] = byte(sport>>8), byte(sport), 0x23, 0x28
	return s
}

// enqueueAll enqueues UDP frames of the given sizes on q from a task on
// A, runs the simulation for a millisecond and returns q's answers.
func (r *qrig) enqueueAll(q core.Qdisc, sizes ...int) []core.NetXmit {
	var got []core.NetXmit
	r.K.RunOn(0, 0, task, func() {
		for _, n := range sizes {
			got = append(got, q.Enqueue(r.K, r.udp(n, 1)))
		}
	})
	r.Sim.Run(1_000_000)
	return got
}

// events returns the trace's events matching f.
func events(tr *trace.Trace, f func(e *trace.Event) bool) []*trace.Event {
	var out []*trace.Event
	for i := range tr.Events {
		if f(&tr.Events[i]) {
			out = append(out, &tr.Events[i])
		}
	}
	return out
}

func val(e *trace.Event, name string) string {
	for _, f := range e.Vals {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}
