package core

import (
	"encoding/binary"
	"fmt"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const flowDissectorC = "net/core/flow_dissector.c"

var (
	fnSkbGetHashNet   = kernel.NewFn("__skb_get_hash_net", flowDissectorC, "dev")
	fnSkbFlowDissect  = kernel.NewFn("__skb_flow_dissect", flowDissectorC, "dev")
	fnFlowHashFromKey = kernel.NewFn("__flow_hash_from_keys", flowDissectorC, "dev")
)

// FlowKeys is struct flow_keys as flow_keys_dissector fills it for IPv4:
// the fields the hash covers. Addresses and ports are kept as the
// kernel keeps them, in network byte order (here as bytes).
type FlowKeys struct {
	AddrType uint16 // control.addr_type: FLOW_DISSECTOR_KEY_IPV4_ADDRS or 0
	Flags    uint32 // control.flags: FLOW_DIS_IS_FRAGMENT, FLOW_DIS_FIRST_FRAG
	NProto   uint16 // basic.n_proto, host order (ETH_P_IP)
	IPProto  uint8  // basic.ip_proto
	Ports    [4]byte
	Src, Dst [4]byte
}

// Flow dissector constants used by the IPv4 path.
const (
	flowDissectorKeyIPv4Addrs = 3 // FLOW_DISSECTOR_KEY_IPV4_ADDRS
	flowDisIsFragment         = 1 // FLOW_DIS_IS_FRAGMENT
	flowDisFirstFrag          = 2 // FLOW_DIS_FIRST_FRAG
)

// flowKeysHashLen is flow_keys_hash_length() for an IPv4 flow on x86-64:
// sizeof(struct flow_keys) 80, less the 8 bytes before basic, less the
// 32-byte addrs union, plus its 8 IPv4 bytes: 48 bytes from basic on,
// the last 4 of them the zeroed rest of the union.
const (
	flowKeysSize     = 80
	flowKeysHashOff  = 8
	flowKeysAddrsLen = 32
	flowKeysHashLen  = flowKeysSize - (flowKeysHashOff + flowKeysAddrsLen - 8)
)

// hashImage lays the keys out as struct flow_keys sits in a
// little-endian kernel's memory, from basic on (flow_keys_hash_start):
// basic at 0, tags 4, vlan 8, cvlan 16, keyid 24, ports 28, icmp 32,
// addrs 36. The model has no VLAN, flow label, GRE key or ICMP key, so
// those stay zero as the memset left them.
func (f *FlowKeys) hashImage() []byte {
	b := make([]byte, flowKeysHashLen)
	binary.BigEndian.PutUint16(b[0:], f.NProto) // __be16 in memory
	b[2] = f.IPProto
	copy(b[28:32], f.Ports[:])
	copy(b[36:40], f.Src[:])
	copy(b[40:44], f.Dst[:])
	return b
}

// flowHashConsistentify is __flow_hash_consistentify(): order the
// addresses and the ports so both directions of a flow hash alike. The
// kernel compares the raw network-order words as integers of the CPU,
// so on x86-64 it compares their little-endian readings.
func (f *FlowKeys) flowHashConsistentify() {
	if f.AddrType != flowDissectorKeyIPv4Addrs {
		return
	}
	if binary.LittleEndian.Uint32(f.Dst[:]) < binary.LittleEndian.Uint32(f.Src[:]) {
		f.Src, f.Dst = f.Dst, f.Src
	}
	if binary.LittleEndian.Uint16(f.Ports[2:]) < binary.LittleEndian.Uint16(f.Ports[:2]) {
		f.Ports = [4]byte{f.Ports[2], f.Ports[3], f.Ports[0], f.Ports[1]}
	}
}

// FlowHashFromKeys is __flow_hash_from_keys(): make the keys symmetric,
// SipHash-2-4 the 48 bytes from basic on with key, keep the low 32 bits,
// and never give 0 (which means "no hash").
func FlowHashFromKeys(f FlowKeys, key SiphashKey) uint32 {
	f.flowHashConsistentify()
	h := uint32(Siphash(f.hashImage(), key))
	if h == 0 {
		h = 1
	}
	return h
}

// skbFlowDissect is __skb_flow_dissect() with flow_keys_dissector for
// an IPv4 skb: the protocol from skb->protocol, the addresses and
// ip_proto from the IP header at the network offset, and the ports
// (the first 4 bytes of TCP, UDP, DCCP, ESP, SCTP and UDP-Lite, bytes
// 4..7 of AH) unless the packet is a fragment: a later fragment has no
// transport header, and without FLOW_DISSECTOR_F_PARSE_1ST_FRAG the
// first one is hashed like them, so all of a datagram's fragments share
// a flow.
func skbFlowDissect(k *kernel.Kernel, s *skb.SKB) (FlowKeys, bool) {
	e := k.Call(fnSkbFlowDissect, s)
	f := FlowKeys{NProto: s.Protocol}
	ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	if s.Protocol != header.EtherTypeIPv4 || s.NetworkHeader+header.IPv4MinLen > s.TailOff() || ip.IHL() < header.IPv4MinLen {
		e.Note = fmt.Sprintf("protocol 0x%04x: no IPv4 header to dissect", s.Protocol)
		k.RetS(fnSkbFlowDissect, "false", s)
		return f, false
	}
	f.IPProto = ip.Protocol()
	f.Src, f.Dst = ip.Src().As4(), ip.Dst().As4()
	f.AddrType = flowDissectorKeyIPv4Addrs
	thoff := s.NetworkHeader + ip.IHL()
	if fo := ip.FragOff(); fo&(header.IPv4MF|header.IPv4Offset) != 0 {
		f.Flags |= flowDisIsFragment
		if fo&header.IPv4Offset == 0 {
			f.Flags |= flowDisFirstFrag
		}
	}
	poff := -1
	switch f.IPProto {
	case header.ProtoTCP, header.ProtoUDP, 33, 50, 132, 136: // TCP, UDP, DCCP, ESP, SCTP, UDP-Lite
		poff = 0
	case 51: // AH
		poff = 4
	}
	ports := "no ports"
	if f.Flags&flowDisIsFragment != 0 {
		ports = "a fragment: no ports"
	} else if poff >= 0 && thoff+poff+4 <= s.TailOff() {
		copy(f.Ports[:], s.At(thoff+poff, 4))
		ports = fmt.Sprintf("ports %d → %d", binary.BigEndian.Uint16(f.Ports[:2]), binary.BigEndian.Uint16(f.Ports[2:]))
	}
	e.Note = fmt.Sprintf("n_proto 0x%04x, ip_proto %d, %s → %s, %s", f.NProto, f.IPProto, ip.Src(), ip.Dst(), ports)
	k.RetS(fnSkbFlowDissect, "true", s)
	return f, true
}

// flowHashSecretInit is __flow_hash_secret_init(): the host's hashrnd,
// the flow hash's SipHash key. Linux draws it once, at the first flow
// hash (net_get_random_once); the model draws it then from the
// simulation's seeded RNG, so the key, and with it every flow's bucket,
// is the same on every run of a scenario (or it uses the key a test set
// beforehand).
func (n *Net) flowHashSecretInit(k *kernel.Kernel) SiphashKey {
	if n.HashRnd == nil {
		r := k.Sim.Rand()
		n.HashRnd = &SiphashKey{r.Uint64(), r.Uint64()}
	}
	return *n.HashRnd
}

// SkbGetHash is skb_get_hash() (include/linux/skbuff.h): the hash the
// skb carries (a socket's sk_txhash, or one computed before), else
// __skb_get_hash_net.
func SkbGetHash(k *kernel.Kernel, n *Net, s *skb.SKB) uint32 {
	if !s.L4Hash && !s.SwHash {
		skbGetHashNet(k, n, s)
	}
	return s.Hash
}

// skbGetHashNet is __skb_get_hash_net(): dissect the packet into flow
// keys, hash them with hashrnd, and store the result as a software hash
// (l4_hash when the keys had ports).
func skbGetHashNet(k *kernel.Kernel, n *Net, s *skb.SKB) {
	e := k.Call(fnSkbGetHashNet, s)
	f, _ := skbFlowDissect(k, s)
	key := n.flowHashSecretInit(k)
	k.Call(fnFlowHashFromKey, s).Note = "SipHash-2-4 of the keys (addresses and ports in order, so both directions agree) with hashrnd"
	h := FlowHashFromKeys(f, key)
	k.RetS(fnFlowHashFromKey, fmt.Sprintf("%#08x", h), s)
	s.Hash, s.SwHash, s.L4Hash = h, true, f.Ports != [4]byte{}
	e.Note = fmt.Sprintf("skb->hash = %#08x", h)
	k.RetVoid(fnSkbGetHashNet, s)
}
