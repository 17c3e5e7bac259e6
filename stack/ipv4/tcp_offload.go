package ipv4

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const tcpOffloadC = "net/ipv4/tcp_offload.c"

var (
	fnTCP4GSOSegment = kernel.NewFn("tcp4_gso_segment", tcpOffloadC, "tcp")
	fnTCPGSOSegment  = kernel.NewFn("tcp_gso_segment", tcpOffloadC, "tcp")
)

// tcp4GSOSegment is tcp4_gso_segment(): check that this is SKB_GSO_TCPV4
// with a TCP header, then tcp_gso_segment. The IP fix-ups that
// inet_gso_segment does after it are folded in here, since the model
// writes each segment's headers in one pass (header.FixTCPv4Segment).
func (n *Net) tcp4GSOSegment(k *kernel.Kernel, s *skb.SKB, features core.Features, firstID uint16) *skb.SKB {
	e := k.Call(fnTCP4GSOSegment, s)
	if s.GSOType != "SKB_GSO_TCPV4" {
		e.Note = "not SKB_GSO_TCPV4"
		return kernel.Ret(k, fnTCP4GSOSegment, (*skb.SKB)(nil))
	}
	segs := n.tcpGSOSegment(k, s, features, firstID)
	return kernel.Ret(k, fnTCP4GSOSegment, segs)
}

// tcpGSOSegment is tcp_gso_segment(): pull the TCP header, have
// skb_segment cut the payload into gso_size pieces, then fix each
// segment: its sequence number, CWR only on the first, FIN and PSH only
// on the last, and the checksum: left CHECKSUM_PARTIAL (pseudo-header sum
// stored) when the device checksums, else computed here.
func (n *Net) tcpGSOSegment(k *kernel.Kernel, s *skb.SKB, features core.Features, firstID uint16) *skb.SKB {
	e := k.Call(fnTCPGSOSegment, s)
	th := header.TCP(s.Data())
	if len(th) < header.TCPMinLen || th.DataOff() > len(th) {
		return kernel.Ret(k, fnTCPGSOSegment, (*skb.SKB)(nil))
	}
	thlen := th.DataOff()
	seq := th.Seq()
	_ = s.Pull(thlen)
	segs := core.SkbSegment(k, s)
	_, _ = s.Push(thlen)
	hwCsum := features&core.FeatHWCsum != 0
	i := 0
	for x := segs; x != nil; x = x.Next {
		pkt := x.At(x.NetworkHeader, x.TailOff()-x.NetworkHeader)
		ihl := header.IPv4(pkt).IHL()
		payload := len(pkt) - ihl - thlen
		header.FixTCPv4Segment(pkt, firstID+uint16(i), seq, i == 0, x.Next == nil, !hwCsum)
		seq += uint32(payload)
		x.GSOSize, x.GSOSegs, x.GSOType = 0, 0, ""
		if hwCsum {
			x.IPSummed, x.CsumStart, x.CsumOff = skb.ChecksumPartial, x.TransportHeader, 16
		} else {
			x.IPSummed = skb.ChecksumNone
		}
		i++
	}
	if hwCsum {
		e.Note = fmt.Sprintf("%d segments; the device checksums: each stays CHECKSUM_PARTIAL", i)
	} else {
		e.Note = fmt.Sprintf("%d segments; no NETIF_F_HW_CSUM: each TCP checksum computed here", i)
	}
	return kernel.Ret(k, fnTCPGSOSegment, segs)
}
