package skb

import (
	"encoding/binary"
	"fmt"

	"skbscope/stack/trace"
)

// The cb layouts the model uses. Each layer reads skb->cb through its own
// struct, as the kernel's IPCB(), UDP_SKB_CB() and TCP_SKB_CB() macros do;
// the byte offsets follow the x86_64 layout of the first fields.
const (
	CBInetSkbParm = "inet_skb_parm" // IPCB(skb), include/net/ip.h
	CBTCPSkbCB    = "tcp_skb_cb"    // TCP_SKB_CB(skb), include/net/tcp.h
)

// TCPCB is a typed view of skb->cb as struct tcp_skb_cb.
type TCPCB struct{ s *SKB }

// TCPSkbCB returns the TCP_SKB_CB view and marks the cb as read that way.
func (s *SKB) TCPSkbCB() TCPCB {
	s.CBType = CBTCPSkbCB
	return TCPCB{s}
}

func (c TCPCB) u32(off int) uint32      { return binary.LittleEndian.Uint32(c.s.CB[off : off+4]) }
func (c TCPCB) set32(off int, v uint32) { binary.LittleEndian.PutUint32(c.s.CB[off:off+4], v) }

// Seq is the starting sequence number.
func (c TCPCB) Seq() uint32 { return c.u32(0) }

// EndSeq is seq + SYN + FIN + data length.
func (c TCPCB) EndSeq() uint32 { return c.u32(4) }

// Flags are the TCP header flags.
func (c TCPCB) Flags() uint8 { return c.s.CB[12] }

// AckSeq is the acknowledgment number of a received segment.
func (c TCPCB) AckSeq() uint32 { return c.u32(16) }

// Set writes seq, end_seq and flags.
func (c TCPCB) Set(seq, endSeq uint32, flags uint8) {
	c.set32(0, seq)
	c.set32(4, endSeq)
	c.s.CB[12] = flags
}

// TCP_SKB_CB(skb)->sacked bits.
const (
	TCPCBSackedAcked   = 0x01 // SACKed by the peer
	TCPCBSackedRetrans = 0x02 // retransmitted, not yet acknowledged
	TCPCBLost          = 0x04 // marked lost (RACK or RTO)
	TCPCBEverRetrans   = 0x80 // retransmitted at least once
)

// Sacked is the sacked byte.
func (c TCPCB) Sacked() uint8 { return c.s.CB[13] }

// SetSacked writes the sacked byte.
func (c TCPCB) SetSacked(v uint8) { c.s.CB[13] = v }

// SetAckSeq writes ack_seq.
func (c TCPCB) SetAckSeq(v uint32) { c.set32(16, v) }

// SetSeq moves the start (after data is acknowledged in part).
func (c TCPCB) SetSeq(v uint32) { c.set32(0, v) }

// IPCB is a typed view of skb->cb as struct inet_skb_parm.
type IPCB struct{ s *SKB }

// InetSkbParm returns the IPCB view and marks the cb as read that way.
func (s *SKB) InetSkbParm() IPCB {
	s.CBType = CBInetSkbParm
	return IPCB{s}
}

// Iif is the input interface index (int iif at offset 0).
func (c IPCB) Iif() int { return int(int32(binary.LittleEndian.Uint32(c.s.CB[0:4]))) }

// SetIif sets iif.
func (c IPCB) SetIif(v int) { binary.LittleEndian.PutUint32(c.s.CB[0:4], uint32(int32(v))) }

// Flags are the IPSKB_* bits (u16 flags after the 16-byte struct ip_options).
func (c IPCB) Flags() uint16 { return binary.LittleEndian.Uint16(c.s.CB[20:22]) }

// SetFlags sets flags.
func (c IPCB) SetFlags(v uint16) { binary.LittleEndian.PutUint16(c.s.CB[20:22], v) }

// Clear zeroes the cb, as ip_local_out's callers memset IPCB.
func (c IPCB) Clear() { c.s.CB = [48]byte{} }

// DecodeCB turns cb bytes into named fields for the layout named typ.
func DecodeCB(typ string, cb []byte) []trace.Field {
	switch typ {
	case CBTCPSkbCB:
		return []trace.Field{
			{Name: "seq", Value: fmt.Sprint(binary.LittleEndian.Uint32(cb[0:4]))},
			{Name: "end_seq", Value: fmt.Sprint(binary.LittleEndian.Uint32(cb[4:8]))},
			{Name: "tcp_flags", Value: fmt.Sprintf("0x%02x", cb[12])},
			{Name: "sacked", Value: fmt.Sprintf("0x%02x", cb[13])},
			{Name: "ack_seq", Value: fmt.Sprint(binary.LittleEndian.Uint32(cb[16:20]))},
		}
	case CBInetSkbParm:
		return []trace.Field{
			{Name: "iif", Value: fmt.Sprint(int32(binary.LittleEndian.Uint32(cb[0:4])))},
			{Name: "opt.optlen", Value: fmt.Sprint(cb[12])},
			{Name: "flags", Value: fmt.Sprintf("0x%x", binary.LittleEndian.Uint16(cb[20:22]))},
			{Name: "frag_max_size", Value: fmt.Sprint(binary.LittleEndian.Uint16(cb[22:24]))},
		}
	}
	return nil
}
