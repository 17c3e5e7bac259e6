package ipv4

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// TestDoFragmentSlowFraglist: a datagram built for an MTU of 1500 (a
// head with 1480 bytes of data and a frag_list piece of 1480) meets an
// MTU of 1000: the pieces do not fit, so ip_do_fragment takes the slow
// path and ip_frag_next copies across the head and the frag_list
// (skb_copy_bits): four fragments of 976, 976, 976 and 32 bytes, offsets
// counting on, MF on all but the last, each with LL_RESERVED_SPACE of
// headroom; together they hold the datagram's bytes, and the original is
// consumed.
func TestDoFragmentSlowFraglist(t *testing.T) {
	sim := kernel.NewSim(1)
	k := sim.NewKernel("A", 1)
	c := core.NewNet(k, sched.Runner{})
	dev := &core.Device{Name: "eth0", MTU: 1000, Up: true, TxQueueLen: 1000}
	c.AddDevice(dev)
	n := New(k, c)
	rt := &Rtable{Dev: dev, MTU: dev.MTU}
	hh := dev.LLReservedSpace()
	data := make([]byte, 2960)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var got []*skb.SKB
	var whole []byte
	orig := -1
	k.RunOn(0, 0, kernel.Context{Kind: kernel.CtxTask, Name: "t", PID: 1}, func() {
		s := core.AllocSkb(k, hh+header.IPv4MinLen+1480)
		_ = s.Reserve(hh)
		_ = s.PutBytesErr(header.IPv4MinLen + 1480)
		s.SetNetworkHeader(0)
		copy(s.At(s.NetworkHeader+header.IPv4MinLen, 1480), data[:1480])
		f := core.AllocSkb(k, hh+header.IPv4MinLen+1480)
		_ = f.Reserve(hh + header.IPv4MinLen)
		_ = f.PutBytesErr(1480)
		copy(f.Data(), data[1480:])
		s.AddFrag(f)
		ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
		ip.Encode(0, 4242, 0, 64, header.ProtoUDP, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
		ip.SetTotalLen(s.Len())
		ip.SetChecksum()
		s.Protocol, s.Dst = header.EtherTypeIPv4, rt
		orig = s.ID
		whole = append([]byte(nil), data...)
		r := n.ipDoFragment(k, s, dev.MTU, func(k *kernel.Kernel, f *skb.SKB) int {
			got = append(got, f)
			return 0
		})
		if r != 0 {
			t.Errorf("ip_do_fragment = %d", r)
		}
	})
	sim.Run(1_000_000)
	if len(got) != 4 {
		t.Fatalf("%d fragments, want 4", len(got))
	}
	var joined []byte
	for i, f := range got {
		ip := header.IPv4(f.At(f.NetworkHeader, header.IPv4MinLen))
		wantLen := []int{976, 976, 976, 32}[i]
		mf := ip.FragOff()&header.IPv4MF != 0
		if int(ip.FragOff()&header.IPv4Offset)*8 != i*976 || mf != (i < 3) || int(ip.TotalLen()) != wantLen+header.IPv4MinLen || ip.ID() != 4242 || !ip.ChecksumValid() {
			t.Errorf("fragment %d: frag_off %#x tot_len %d id %d", i, ip.FragOff(), ip.TotalLen(), ip.ID())
		}
		if f.Headroom() < hh || f.Len() != wantLen+header.IPv4MinLen || len(f.FragList) != 0 {
			t.Errorf("fragment %d: headroom %d (want ≥ %d), len %d, frag_list %d", i, f.Headroom(), hh, f.Len(), len(f.FragList))
		}
		joined = append(joined, f.At(f.TransportHeader, wantLen)...)
	}
	if !bytes.Equal(joined, whole) {
		t.Error("the fragments' data is not the datagram's")
	}
	tr := sim.Trace()
	var fns []string
	consumed := false
	for _, e := range tr.Events {
		if e.Kind == trace.Call && (e.Fn == "ip_frag_init" || e.Fn == "ip_frag_next" || e.Fn == "ip_fraglist_init") {
			fns = append(fns, e.Fn)
		}
		if e.Kind == trace.Free && e.Reason == string(skb.Consumed) && slices.Contains(e.Skb, orig) {
			consumed = true
		}
	}
	if !slices.Equal(fns, []string{"ip_frag_init", "ip_frag_next", "ip_frag_next", "ip_frag_next", "ip_frag_next"}) || !consumed {
		t.Errorf("calls %v, original consumed %v", fns, consumed)
	}
}
