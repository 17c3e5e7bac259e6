package core

import (
	"fmt"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const groC = "net/core/gro.c"

var (
	fnNapiGroReceive = kernel.NewFn("napi_gro_receive", groC, "napi")
	fnDevGroReceive  = kernel.NewFn("dev_gro_receive", groC, "napi")
	fnNapiSkbFinish  = kernel.NewFn("napi_skb_finish", groC, "napi")
	fnGroNormalOne   = kernel.NewFn("gro_normal_one", "include/net/gro.h", "napi")
	fnGroNormalList  = kernel.NewFn("gro_normal_list", "include/net/gro.h", "napi")
)

// NapiGroReceive is napi_gro_receive(): try to merge the skb into a flow
// being held for GRO; what cannot be merged is batched on the NAPI's
// rx_list and handed up gro_normal_batch at a time.
func (n *Net) NapiGroReceive(k *kernel.Kernel, napi *NAPI, s *skb.SKB) {
	k.Call(fnNapiGroReceive, s)
	e := k.Call(fnDevGroReceive, s)
	// Only TCP segments of one flow merge; a UDP socket must ask for it
	// with UDP_GRO, and none does here.
	e.Note = groVerdict(s)
	k.RetS(fnDevGroReceive, "GRO_NORMAL")
	k.Call(fnNapiSkbFinish, s)
	k.Call(fnGroNormalOne, s)
	napi.rxList = append(napi.rxList, s)
	k.Enqueue(napiRxListQueue, len(napi.rxList), s).Note = fmt.Sprintf("%d of gro_normal_batch %d", len(napi.rxList), groNormalBatch)
	if len(napi.rxList) >= groNormalBatch {
		n.groNormalList(k, napi)
	}
	k.RetVoid(fnGroNormalOne)
	k.RetS(fnNapiSkbFinish, "GRO_NORMAL")
	k.RetS(fnNapiGroReceive, "GRO_NORMAL")
}

func groVerdict(s *skb.SKB) string {
	if s.Protocol != header.EtherTypeIPv4 {
		return "not IPv4: no GRO handler, pass it on (GRO_NORMAL)"
	}
	ip := header.IPv4(s.At(s.DataOff(), header.IPv4MinLen))
	if ip == nil {
		return "too short to merge: GRO_NORMAL"
	}
	if ip.FragOff()&(header.IPv4MF|header.IPv4Offset) != 0 {
		return "inet_gro_receive: an IP fragment (ip_is_fragment) is never merged: GRO_NORMAL"
	}
	if ip.Protocol() == header.ProtoUDP {
		return "inet_gro_receive → udp4_gro_receive: no socket enabled UDP_GRO, GRO_NORMAL"
	}
	return "inet_gro_receive: nothing to merge with, GRO_NORMAL"
}

// groNormalList is gro_normal_list(): hand the batch to the stack.
func (n *Net) groNormalList(k *kernel.Kernel, napi *NAPI) {
	if len(napi.rxList) == 0 {
		return
	}
	list := napi.rxList
	napi.rxList = nil
	k.Call(fnGroNormalList, list...)
	for i, s := range list {
		k.Dequeue(napiRxListQueue, len(list)-i-1, s)
	}
	n.netifReceiveSkbListInternal(k, list)
	k.RetVoid(fnGroNormalList)
}
