// Package ethernet models net/ethernet/eth.c: what the kernel reads from
// an Ethernet header on the way in.
package ethernet

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

var fnEthTypeTrans = kernel.NewFn("eth_type_trans", "net/ethernet/eth.c", "driver")

// EthTypeTrans is eth_type_trans(): set skb->dev, the MAC header and
// pkt_type (is the frame for us, broadcast, multicast or someone else's),
// pull the 14 header bytes and return the ethertype for skb->protocol.
func EthTypeTrans(k *kernel.Kernel, s *skb.SKB, dev *core.Device) uint16 {
	e := k.Call(fnEthTypeTrans, s)
	s.Dev = dev.Name
	s.ResetMACHeader()
	h := header.Ethernet(s.At(s.DataOff(), header.EthernetLen))
	if h == nil || s.Pull(header.EthernetLen) != nil {
		e.Note = "runt frame"
		return uint16(kernel.Ret(k, fnEthTypeTrans, proto(0)))
	}
	dst := h.Dst()
	switch {
	case dst == header.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}:
		s.PktType = skb.PacketBroadcast
	case dst[0]&1 != 0:
		s.PktType = skb.PacketMulticast
	case dst != dev.Addr:
		s.PktType = skb.PacketOtherhost
	default:
		s.PktType = skb.PacketHost
	}
	e.Note = fmt.Sprintf("%s → %s: %s, ethertype 0x%04x", h.Src(), dst, s.PktType, h.Type())
	return uint16(kernel.Ret(k, fnEthTypeTrans, proto(h.Type())))
}

// proto prints an ethertype as the kernel's htons(ETH_P_*) would read.
type proto uint16

func (p proto) String() string {
	switch p {
	case header.EtherTypeIPv4:
		return "htons(ETH_P_IP)"
	case header.EtherTypeARP:
		return "htons(ETH_P_ARP)"
	}
	return fmt.Sprintf("0x%04x", uint16(p))
}
