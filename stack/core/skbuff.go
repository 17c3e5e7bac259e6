package core

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const skbuffC = "net/core/skbuff.c"

var (
	fnAllocSkb        = kernel.NewFn("__alloc_skb", skbuffC, "skb")
	fnSkbClone        = kernel.NewFn("skb_clone", skbuffC, "skb")
	fnConsumeSkb      = kernel.NewFn("consume_skb", skbuffC, "skb")
	fnSkSkbReasonDrop = kernel.NewFn("sk_skb_reason_drop", skbuffC, "skb")
)

// AllocSkb is alloc_skb() → __alloc_skb(): a new skb with a head of at
// least size bytes, all of it tailroom.
func AllocSkb(k *kernel.Kernel, size int) *skb.SKB {
	k.Call(fnAllocSkb)
	s := skb.New(k.Sim.NextSkbID(), size)
	k.Event(trace.Alloc, fnAllocSkb, s).Note = "new sk_buff: head, data and tail at offset 0, end at " + itoa(s.EndOff())
	return kernel.Ret(k, fnAllocSkb, s, s)
}

// SkbClone is skb_clone(): a second sk_buff sharing the data buffer.
func SkbClone(k *kernel.Kernel, s *skb.SKB) *skb.SKB {
	k.Call(fnSkbClone, s)
	n := s.Clone(k.Sim.NextSkbID())
	e := k.Event(trace.Clone, fnSkbClone, s, n)
	e.Note = "skb " + itoa(n.ID) + " shares skb " + itoa(s.ID) + "'s data: dataref " + itoa(s.Dataref())
	return kernel.Ret(k, fnSkbClone, n, n)
}

// ConsumeSkb is consume_skb(): the skb did its job (not a drop).
func ConsumeSkb(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnConsumeSkb, s)
	release(k, s, skb.Consumed)
	k.RetVoid(fnConsumeSkb)
}

// KfreeSkbReason is kfree_skb_reason() → sk_skb_reason_drop(): a drop,
// with its reason, as the skb:kfree_skb tracepoint reports it.
func KfreeSkbReason(k *kernel.Kernel, s *skb.SKB, reason skb.Reason) {
	k.Call(fnSkSkbReasonDrop, s)
	release(k, s, reason)
	k.RetVoid(fnSkSkbReasonDrop)
}

// release drops one reference; the last one frees the skb: its destructor
// runs (skb_release_head_state), then its hold on the data
// (skb_release_data).
func release(k *kernel.Kernel, s *skb.SKB, reason skb.Reason) {
	kind := trace.Drop
	if reason == skb.Consumed {
		kind = trace.Free
	}
	if !s.Put() {
		k.Note(trace.State, "skb "+itoa(s.ID)+" still has users: "+itoa(s.Users()), s)
		return
	}
	if d := s.Destructor; d != nil {
		s.Destructor = nil
		d(s)
	}
	s.ReleaseData()
	if s.Dataref() == 0 {
		// skb_release_data: the last hold on the head frees the
		// frag_list with the same reason (kfree_skb_list_reason).
		for _, f := range s.FragList {
			release(k, f, reason)
		}
	}
	e := k.Event(kind, nil, s)
	e.Reason = string(reason)
}

var (
	fnNapiAllocSkb   = kernel.NewFn("__napi_alloc_skb", skbuffC, "skb")
	fnNetdevAllocSkb = kernel.NewFn("__netdev_alloc_skb", skbuffC, "skb")
)

// NetSkbPad is NET_SKB_PAD on x86_64 (max(32, L1_CACHE_BYTES)): the
// headroom receive skbs start with. NET_IP_ALIGN is 0 on x86.
const NetSkbPad = 64

// NapiAllocSkb is napi_alloc_skb() → __napi_alloc_skb(): a receive skb
// for len bytes with NET_SKB_PAD of headroom, from NAPI context.
func NapiAllocSkb(k *kernel.Kernel, length int) *skb.SKB {
	return rxAlloc(k, fnNapiAllocSkb, length)
}

// NetdevAllocSkb is netdev_alloc_skb() → __netdev_alloc_skb(): the same
// for a driver refilling its ring.
func NetdevAllocSkb(k *kernel.Kernel, length int) *skb.SKB {
	s := rxAlloc(k, fnNetdevAllocSkb, length)
	return s
}

func rxAlloc(k *kernel.Kernel, f *kernel.Fn, length int) *skb.SKB {
	k.Call(f)
	s := skb.New(k.Sim.NextSkbID(), length+NetSkbPad)
	_ = s.Reserve(NetSkbPad) // a new skb always has room for its pad
	k.Event(trace.Alloc, f, s).Note = fmt.Sprintf("receive skb: %d bytes of headroom (NET_SKB_PAD), room for %d", NetSkbPad, s.Tailroom())
	return kernel.Ret(k, f, s, s)
}

// RxRingSkb is an RX ring buffer the driver allocated when the device
// came up, before the simulation started: it has no alloc event.
func RxRingSkb(k *kernel.Kernel, length int) *skb.SKB {
	s := skb.New(k.Sim.NextSkbID(), length+NetSkbPad)
	_ = s.Reserve(NetSkbPad)
	k.Note(trace.State, fmt.Sprintf("skb %d: an RX buffer allocated by e1000_alloc_rx_buffers when the device came up", s.ID), s)
	return s
}
