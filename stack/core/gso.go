package core

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const gsoC = "net/core/gso.c"

var (
	fnNetifNeedsGSO    = kernel.NewFn("netif_needs_gso", "include/linux/netdevice.h", "dev")
	fnSkbGSOSegment    = kernel.NewFn("__skb_gso_segment", gsoC, "dev")
	fnSkbMacGSOSegment = kernel.NewFn("skb_mac_gso_segment", gsoC, "dev")
	fnSkbSegment       = kernel.NewFn("skb_segment", skbuffC, "skb")
)

// GSOSegmentFunc is a packet_offload's callbacks.gso_segment: cut a GSO
// skb whose data starts at this layer's header into a list of segments.
// It returns the first segment, or nil when it cannot segment.
type GSOSegmentFunc func(k *kernel.Kernel, s *skb.SKB, features Features) *skb.SKB

// DevAddOffload is dev_add_offload(): the GSO handler for an ethertype
// (inet_offload's inet_gso_segment for ETH_P_IP).
func (n *Net) DevAddOffload(ethertype uint16, f GSOSegmentFunc) {
	if n.offloads == nil {
		n.offloads = map[uint16]GSOSegmentFunc{}
	}
	n.offloads[ethertype] = f
}

// netifNeedsGSO is netif_needs_gso(): a GSO skb the device cannot send
// as it is: the device lacks the feature its gso_type needs (NETIF_F_TSO
// for SKB_GSO_TCPV4), or GSO was turned off.
func netifNeedsGSO(k *kernel.Kernel, s *skb.SKB, dev *Device) bool {
	e := k.Call(fnNetifNeedsGSO, s)
	need := dev.Features&FeatTSO == 0
	if need {
		e.Note = fmt.Sprintf("%s, %d segments of %d bytes, and %s has no NETIF_F_TSO: segment in software", s.GSOType, s.GSOSegs, s.GSOSize, dev.Name)
	} else {
		e.Note = fmt.Sprintf("%s has NETIF_F_TSO: the NIC will cut the %d segments itself", dev.Name, s.GSOSegs)
	}
	return kernel.Ret(k, fnNetifNeedsGSO, need)
}

// skbGSOSegment is skb_gso_segment() → __skb_gso_segment(skb, features,
// tx_path): on the transmit path, hand the skb to skb_mac_gso_segment.
func skbGSOSegment(k *kernel.Kernel, s *skb.SKB, dev *Device) *skb.SKB {
	k.Call(fnSkbGSOSegment, s)
	segs := skbMacGSOSegment(k, s, dev)
	return kernel.Ret(k, fnSkbGSOSegment, segs, listOf(segs)...)
}

// skbMacGSOSegment is skb_mac_gso_segment(): pull the link-layer header,
// let the protocol's gso_segment cut the skb, and push the header back
// on every segment.
func skbMacGSOSegment(k *kernel.Kernel, s *skb.SKB, dev *Device) *skb.SKB {
	e := k.Call(fnSkbMacGSOSegment, s)
	macLen := s.NetworkHeader - s.MACHeader
	f := dev.Net.offloads[s.Protocol]
	if f == nil || s.Pull(macLen) != nil {
		e.Note = fmt.Sprintf("no gso_segment for protocol 0x%04x", s.Protocol)
		return kernel.Ret(k, fnSkbMacGSOSegment, (*skb.SKB)(nil))
	}
	segs := f(k, s, dev.Features)
	_, _ = s.Push(macLen) // segments start at their MAC header already
	if segs != nil {
		e.Note = fmt.Sprintf("%d segments, each from its MAC header", len(listOf(segs)))
	}
	return kernel.Ret(k, fnSkbMacGSOSegment, segs, listOf(segs)...)
}

// listOf is an skb list as a slice, for the trace.
func listOf(s *skb.SKB) []*skb.SKB {
	var out []*skb.SKB
	for ; s != nil; s = s.Next {
		out = append(out, s)
	}
	return out
}

// SkbSegment is skb_segment(): cut the payload after data into chunks of
// gso_size, each in a new skb that starts with a copy of every header in
// front of data (from the MAC header on); a segment's data points at its
// MAC header. The segments keep the original's headroom, header offsets
// and metadata; the callers fix up each layer's header. The model copies linear bytes where the kernel would share page
// fragments. It returns the list's head.
func SkbSegment(k *kernel.Kernel, s *skb.SKB) *skb.SKB {
	e := k.Call(fnSkbSegment, s)
	hdrStart := s.MACHeader
	if hdrStart < 0 || hdrStart > s.DataOff() {
		hdrStart = s.NetworkHeader
	}
	hdrs := s.At(hdrStart, s.DataOff()-hdrStart)
	payload := s.Data()
	mss := s.GSOSize
	if mss <= 0 {
		mss = len(payload)
	}
	var head, tail *skb.SKB
	n := 0
	for off := 0; off < len(payload) || off == 0; off += mss {
		chunk := payload[off:min(off+mss, len(payload))]
		x := skb.New(k.Sim.NextSkbID(), hdrStart+len(hdrs)+len(chunk))
		_ = x.Reserve(hdrStart)
		b, _ := x.PutBytes(len(hdrs) + len(chunk))
		copy(b, hdrs)
		copy(b[len(hdrs):], chunk)
		x.MACHeader = hdrStart
		x.NetworkHeader = s.NetworkHeader
		x.TransportHeader = s.TransportHeader
		x.Protocol, x.Priority, x.PktType = s.Protocol, s.Priority, s.PktType
		x.IPSummed, x.CsumStart, x.CsumOff = s.IPSummed, s.CsumStart, s.CsumOff
		x.Dev, x.Sk, x.Dst, x.CB, x.CBType = s.Dev, s.Sk, s.Dst, s.CB, s.CBType
		x.MstampNs = s.MstampNs
		k.Event(trace.Alloc, fnSkbSegment, x).Note = fmt.Sprintf("segment %d: %d bytes of payload at offset %d, headers copied", n, len(chunk), off)
		if head == nil {
			head = x
		} else {
			tail.Next = x
		}
		tail = x
		n++
		if len(payload) == 0 {
			break
		}
	}
	e.Note = fmt.Sprintf("%d bytes of payload into %d segments of at most %d", len(payload), n, mss)
	return kernel.Ret(k, fnSkbSegment, head, listOf(head)...)
}

var fnSkbExpandHead = kernel.NewFn("skb_expand_head", skbuffC, "skb")

// SkbExpandHead is skb_expand_head(): make sure the skb has headroom
// bytes in front of data, reallocating its head (pskb_expand_head) when
// it has less. The skb keeps its identity. The kernel also charges the
// socket for the bigger head (truesize and sk_wmem_alloc grow); the model
// leaves truesize as it was.
func SkbExpandHead(k *kernel.Kernel, s *skb.SKB, headroom int) *skb.SKB {
	e := k.Call(fnSkbExpandHead, s)
	delta := max(headroom-s.Headroom(), 0)
	old := s.Headroom()
	// The kernel rounds the extra room up with SKB_DATA_ALIGN.
	delta = (delta + skb.CacheLine - 1) / skb.CacheLine * skb.CacheLine
	alloc := s.ExpandHead(delta)
	e.Note = fmt.Sprintf("headroom %d < %d: pskb_expand_head(+%d) copies the packet into a new %d-byte head", old, headroom, delta, alloc)
	return kernel.Ret(k, fnSkbExpandHead, s, s)
}
