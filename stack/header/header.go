// Package header gives typed views over the bytes of Ethernet, IPv4 and
// UDP headers, in the manner of gVisor's pkg/tcpip/header: no copies, the
// view reads and writes the skb's own buffer.
package header

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Lengths of the fixed headers.
const (
	EthernetLen = 14
	IPv4MinLen  = 20
	UDPLen      = 8
)

// EtherTypes used by the model.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
)

// IP protocol numbers.
const (
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// MAC is a 48-bit Ethernet address.
type MAC [6]byte

func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// ParseMAC reads "aa:bb:cc:dd:ee:ff".
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("bad MAC %q", s)
	}
	for i := range 6 {
		if i > 0 && s[3*i-1] != ':' {
			return m, fmt.Errorf("bad MAC %q", s)
		}
		var v byte
		for _, c := range []byte(s[3*i : 3*i+2]) {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | (c - '0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | (c - 'a' + 10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | (c - 'A' + 10)
			default:
				return m, fmt.Errorf("bad MAC %q", s)
			}
		}
		m[i] = v
	}
	return m, nil
}

// Ethernet is a view of an Ethernet II header.
type Ethernet []byte

// Dst is the destination address.
func (e Ethernet) Dst() MAC { return MAC(e[0:6]) }

// Src is the source address.
func (e Ethernet) Src() MAC { return MAC(e[6:12]) }

// Type is the EtherType.
func (e Ethernet) Type() uint16 { return binary.BigEndian.Uint16(e[12:14]) }

// Encode writes the whole header.
func (e Ethernet) Encode(dst, src MAC, etherType uint16) {
	copy(e[0:6], dst[:])
	copy(e[6:12], src[:])
	binary.BigEndian.PutUint16(e[12:14], etherType)
}

// IPv4 is a view of an IPv4 header.
type IPv4 []byte

// Flag bits of the fragment field.
const (
	IPv4DF = 0x4000
	IPv4MF = 0x2000
)

// IHL is the header length in bytes.
func (h IPv4) IHL() int { return int(h[0]&0x0f) * 4 }

// Version is the IP version nibble.
func (h IPv4) Version() int { return int(h[0] >> 4) }

// TOS is the type-of-service byte.
func (h IPv4) TOS() uint8 { return h[1] }

// TotalLen is tot_len.
func (h IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(h[2:4])) }

// ID is the identification field.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[4:6]) }

// FragOff is the flags and fragment offset field.
func (h IPv4) FragOff() uint16 { return binary.BigEndian.Uint16(h[6:8]) }

// TTL is the time to live.
func (h IPv4) TTL() uint8 { return h[8] }

// Protocol is the next protocol.
func (h IPv4) Protocol() uint8 { return h[9] }

// Checksum is the header checksum as stored.
func (h IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(h[10:12]) }

// Src is saddr.
func (h IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(h[12:16])) }

// Dst is daddr.
func (h IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(h[16:20])) }

// SetTotalLen sets tot_len (iph_set_totlen).
func (h IPv4) SetTotalLen(n int) { binary.BigEndian.PutUint16(h[2:4], uint16(n)) }

// SetFragOff sets the flags and offset word (offset in 8-byte units).
func (h IPv4) SetFragOff(f uint16) { binary.BigEndian.PutUint16(h[6:8], f) }

// IPv4Offset is IP_OFFSET: the offset bits of frag_off.
const IPv4Offset = 0x1fff

// Encode writes the fixed fields; tot_len and the checksum are set later,
// as __ip_local_out does.
func (h IPv4) Encode(tos uint8, id, fragOff uint16, ttl, proto uint8, src, dst netip.Addr) {
	h[0] = 4<<4 | 5
	h[1] = tos
	binary.BigEndian.PutUint16(h[4:6], id)
	binary.BigEndian.PutUint16(h[6:8], fragOff)
	h[8] = ttl
	h[9] = proto
	h[10], h[11] = 0, 0
	s, d := src.As4(), dst.As4()
	copy(h[12:16], s[:])
	copy(h[16:20], d[:])
}

// SetChecksum is ip_send_check(): the header checksum over ihl*4 bytes.
func (h IPv4) SetChecksum() {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:12], ^Fold(Sum(0, h[:h.IHL()])))
}

// ChecksumValid reports whether the header sums to all ones.
func (h IPv4) ChecksumValid() bool { return Fold(Sum(0, h[:h.IHL()])) == 0xffff }

// UDP is a view of a UDP header.
type UDP []byte

// SrcPort is the source port.
func (u UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(u[0:2]) }

// DstPort is the destination port.
func (u UDP) DstPort() uint16 { return binary.BigEndian.Uint16(u[2:4]) }

// Length is the UDP length field.
func (u UDP) Length() int { return int(binary.BigEndian.Uint16(u[4:6])) }

// Checksum is the checksum as stored.
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[6:8]) }

// Encode writes ports and length, clearing the checksum.
func (u UDP) Encode(sport, dport uint16, length int) {
	binary.BigEndian.PutUint16(u[0:2], sport)
	binary.BigEndian.PutUint16(u[2:4], dport)
	binary.BigEndian.PutUint16(u[4:6], uint16(length))
	u[6], u[7] = 0, 0
}

// SetChecksum stores a checksum.
func (u UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(u[6:8], c) }

// Sum adds b to a running one's-complement sum (csum_partial).
func Sum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// Fold folds a 32-bit sum to 16 bits (csum_fold without the final not).
func Fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// PseudoSum is the IPv4 pseudo-header sum (csum_tcpudp_nofold).
func PseudoSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	s, d := src.As4(), dst.As4()
	sum := Sum(0, s[:])
	sum = Sum(sum, d[:])
	return sum + uint32(proto) + uint32(length)
}

// TransportChecksum is csum_tcpudp_magic over the pseudo header and the
// segment: the value to store. For UDP a zero result is sent as 0xffff
// (CSUM_MANGLED_0), since zero means "no checksum".
func TransportChecksum(src, dst netip.Addr, proto uint8, seg []byte) uint16 {
	c := ^Fold(Sum(PseudoSum(src, dst, proto, len(seg)), seg))
	if c == 0 && proto == ProtoUDP {
		c = 0xffff
	}
	return c
}

// ARP is a view of an Ethernet/IPv4 ARP packet (28 bytes).
type ARP []byte

// ARPLen is the length of an Ethernet/IPv4 ARP packet.
const ARPLen = 28

// ARP opcodes.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// HType is ar_hrd.
func (a ARP) HType() uint16 { return binary.BigEndian.Uint16(a[0:2]) }

// PType is ar_pro.
func (a ARP) PType() uint16 { return binary.BigEndian.Uint16(a[2:4]) }

// HLen is ar_hln.
func (a ARP) HLen() uint8 { return a[4] }

// PLen is ar_pln.
func (a ARP) PLen() uint8 { return a[5] }

// Op is ar_op.
func (a ARP) Op() uint16 { return binary.BigEndian.Uint16(a[6:8]) }

// SHA is the sender's hardware address.
func (a ARP) SHA() MAC { return MAC(a[8:14]) }

// SIP is the sender's IPv4 address.
func (a ARP) SIP() netip.Addr { return netip.AddrFrom4([4]byte(a[14:18])) }

// THA is the target's hardware address.
func (a ARP) THA() MAC { return MAC(a[18:24]) }

// TIP is the target's IPv4 address.
func (a ARP) TIP() netip.Addr { return netip.AddrFrom4([4]byte(a[24:28])) }

// Encode writes an Ethernet/IPv4 ARP packet.
func (a ARP) Encode(op uint16, sha MAC, sip netip.Addr, tha MAC, tip netip.Addr) {
	binary.BigEndian.PutUint16(a[0:2], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(a[2:4], EtherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	s, t := sip.As4(), tip.As4()
	copy(a[8:14], sha[:])
	copy(a[14:18], s[:])
	copy(a[18:24], tha[:])
	copy(a[24:28], t[:])
}

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ICMP is a view of an ICMPv4 header (8 bytes) and what follows it.
type ICMP []byte

// ICMPLen is the length of the ICMP header.
const ICMPLen = 8

// ICMP types and codes the model uses.
const (
	ICMPEchoReply     = 0
	ICMPDestUnreach   = 3
	ICMPEcho          = 8
	ICMPTimeExceeded  = 11
	ICMPHostUnreach   = 1
	ICMPPortUnreach   = 3
	ICMPFragNeeded    = 4
	ICMPProtUnreach   = 2
	ICMPNetUnreach    = 0
	ICMPParamProblem  = 12
	ICMPSourceQuench  = 4
	ICMPTimestamp     = 13
	ICMPTimestampRepl = 14
)

// Type is the ICMP type.
func (c ICMP) Type() uint8 { return c[0] }

// Code is the ICMP code.
func (c ICMP) Code() uint8 { return c[1] }

// Checksum is the stored checksum.
func (c ICMP) Checksum() uint16 { return binary.BigEndian.Uint16(c[2:4]) }

// ID is the echo identifier.
func (c ICMP) ID() uint16 { return binary.BigEndian.Uint16(c[4:6]) }

// Seq is the echo sequence number.
func (c ICMP) Seq() uint16 { return binary.BigEndian.Uint16(c[6:8]) }

// Encode writes type, code and the 4-byte rest of the header, with a zero
// checksum.
func (c ICMP) Encode(typ, code uint8, rest uint32) {
	c[0], c[1], c[2], c[3] = typ, code, 0, 0
	binary.BigEndian.PutUint32(c[4:8], rest)
}

// SetID sets the echo identifier.
func (c ICMP) SetID(id uint16) { binary.BigEndian.PutUint16(c[4:6], id) }

// SetChecksum computes the checksum over the whole message.
func (c ICMP) SetChecksum() {
	c[2], c[3] = 0, 0
	binary.BigEndian.PutUint16(c[2:4], ^Fold(Sum(0, c)))
}

// ChecksumValid reports whether the message sums to all ones.
func (c ICMP) ChecksumValid() bool { return Fold(Sum(0, c)) == 0xffff }
