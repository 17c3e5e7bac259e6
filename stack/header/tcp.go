package header

import "encoding/binary"

// TCP is a view of a TCP header and its options.
type TCP []byte

// TCPMinLen is the length of a TCP header without options.
const TCPMinLen = 20

// TCP flags (tcp[13]).
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Option kinds (include/net/tcp.h).
const (
	TCPOptEOL      = 0
	TCPOptNOP      = 1
	TCPOptMSS      = 2
	TCPOptWindow   = 3
	TCPOptSACKPerm = 4
	TCPOptSACK     = 5
	TCPOptTS       = 8
)

// SrcPort is the source port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[0:2]) }

// DstPort is the destination port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[2:4]) }

// Seq is the sequence number.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[4:8]) }

// Ack is the acknowledgment number.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[8:12]) }

// DataOff is the header length in bytes (doff*4).
func (t TCP) DataOff() int { return int(t[12]>>4) * 4 }

// Flags is the flags byte.
func (t TCP) Flags() uint8 { return t[13] }

// Window is the (unscaled) window field.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[14:16]) }

// Checksum is the stored checksum.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:18]) }

// SetChecksum stores a checksum.
func (t TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(t[16:18], c) }

// Encode writes the fixed header; doff is the header length in bytes.
func (t TCP) Encode(sport, dport uint16, seq, ack uint32, doff int, flags uint8, window uint16) {
	binary.BigEndian.PutUint16(t[0:2], sport)
	binary.BigEndian.PutUint16(t[2:4], dport)
	binary.BigEndian.PutUint32(t[4:8], seq)
	binary.BigEndian.PutUint32(t[8:12], ack)
	t[12] = byte(doff/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:16], window)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
}

// TCPOptions are the options the model reads and writes.
type TCPOptions struct {
	MSS          uint16
	WScale       int // -1: absent
	SACKPerm     bool
	TS           bool
	TSVal, TSEcr uint32
	SACK         [][2]uint32
}

// Options parses the options area. Malformed options end the parse, as
// tcp_parse_options stops at a bad length.
func (t TCP) Options() TCPOptions {
	o := TCPOptions{WScale: -1}
	if len(t) < TCPMinLen {
		return o
	}
	end := min(t.DataOff(), len(t))
	for i := TCPMinLen; i < end; {
		kind := t[i]
		if kind == TCPOptEOL {
			break
		}
		if kind == TCPOptNOP {
			i++
			continue
		}
		if i+1 >= end {
			break
		}
		l := int(t[i+1])
		if l < 2 || i+l > end {
			break
		}
		b := t[i : i+l]
		switch {
		case kind == TCPOptMSS && l == 4:
			o.MSS = binary.BigEndian.Uint16(b[2:4])
		case kind == TCPOptWindow && l == 3:
			o.WScale = min(int(b[2]), 14)
		case kind == TCPOptSACKPerm && l == 2:
			o.SACKPerm = true
		case kind == TCPOptTS && l == 10:
			o.TS = true
			o.TSVal = binary.BigEndian.Uint32(b[2:6])
			o.TSEcr = binary.BigEndian.Uint32(b[6:10])
		case kind == TCPOptSACK && (l-2)%8 == 0:
			for j := 2; j+8 <= l; j += 8 {
				o.SACK = append(o.SACK, [2]uint32{binary.BigEndian.Uint32(b[j : j+4]), binary.BigEndian.Uint32(b[j+4 : j+8])})
			}
		}
		i += l
	}
	return o
}

// AppendTCPOptions encodes options in the order and 32-bit layout Linux's
// tcp_options_write uses: MSS; SACK_PERM folded into the timestamp word
// (or NOP NOP TS without it); NOP NOP SACK_PERM without timestamps; NOP
// WSCALE; NOP NOP SACK blocks.
func AppendTCPOptions(b []byte, o TCPOptions) []byte {
	be := binary.BigEndian
	if o.MSS != 0 {
		b = append(b, TCPOptMSS, 4, byte(o.MSS>>8), byte(o.MSS))
	}
	switch {
	case o.TS && o.SACKPerm:
		b = append(b, TCPOptSACKPerm, 2, TCPOptTS, 10)
	case o.TS:
		b = append(b, TCPOptNOP, TCPOptNOP, TCPOptTS, 10)
	case o.SACKPerm:
		b = append(b, TCPOptNOP, TCPOptNOP, TCPOptSACKPerm, 2)
	}
	if o.TS {
		b = be.AppendUint32(b, o.TSVal)
		b = be.AppendUint32(b, o.TSEcr)
	}
	if o.WScale >= 0 {
		b = append(b, TCPOptNOP, TCPOptWindow, 3, byte(o.WScale))
	}
	if len(o.SACK) > 0 {
		b = append(b, TCPOptNOP, TCPOptNOP, TCPOptSACK, byte(2+8*len(o.SACK)))
		for _, blk := range o.SACK {
			b = be.AppendUint32(b, blk[0])
			b = be.AppendUint32(b, blk[1])
		}
	}
	return b
}

// SetSeq stores the sequence number.
func (t TCP) SetSeq(seq uint32) { binary.BigEndian.PutUint32(t[4:8], seq) }

// SetFlags stores the flags byte.
func (t TCP) SetFlags(f uint8) { t[13] = f }

// FixTCPv4Segment rewrites the IPv4 and TCP headers of one segment cut
// from a TSO/GSO super-packet, as tcp_gso_segment and inet_gso_segment do
// in software and a TSO NIC does in hardware: total length, IP ID, header
// checksum, sequence number, and the flags that belong only to the first
// (CWR) or the last (FIN, PSH) segment. pkt runs from the IPv4 header to
// the end of the segment. With full set the TCP checksum is computed;
// otherwise only the pseudo-header sum is stored for a NIC to finish
// (CHECKSUM_PARTIAL).
func FixTCPv4Segment(pkt []byte, id uint16, seq uint32, first, last, full bool) {
	ip := IPv4(pkt)
	ihl := ip.IHL()
	ip.SetTotalLen(len(pkt))
	binary.BigEndian.PutUint16(pkt[4:6], id)
	ip.SetChecksum()
	th := TCP(pkt[ihl:])
	th.SetSeq(seq)
	f := th.Flags()
	if !first {
		f &^= TCPCwr
	}
	if !last {
		f &^= TCPFin | TCPPsh
	}
	th.SetFlags(f)
	seg := pkt[ihl:]
	th.SetChecksum(Fold(PseudoSum(ip.Src(), ip.Dst(), ProtoTCP, len(seg))))
	if full {
		th.SetChecksum(^Fold(Sum(0, seg)))
	}
}
