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
)

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
