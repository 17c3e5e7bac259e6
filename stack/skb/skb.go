// Package skb models struct sk_buff (include/linux/skbuff.h): a real byte
// buffer with head, data, tail and end, shared between clones, plus the
// metadata the stack keeps beside it. Only the buffer arithmetic lives
// here; the traced kernel functions that allocate, clone and free skbs are
// in stack/core (net/core/skbuff.c).
package skb

import "fmt"

// Checksum states of skb->ip_summed.
type CsumState uint8

// Values of skb->ip_summed (include/linux/skbuff.h).
const (
	ChecksumNone CsumState = iota
	ChecksumUnnecessary
	ChecksumComplete
	ChecksumPartial
)

func (c CsumState) String() string {
	return [...]string{"CHECKSUM_NONE", "CHECKSUM_UNNECESSARY", "CHECKSUM_COMPLETE", "CHECKSUM_PARTIAL"}[c]
}

// PktType is skb->pkt_type.
type PktType uint8

// Values of skb->pkt_type (include/uapi/linux/if_packet.h).
const (
	PacketHost PktType = iota
	PacketBroadcast
	PacketMulticast
	PacketOtherhost
	PacketOutgoing
)

func (p PktType) String() string {
	return [...]string{"PACKET_HOST", "PACKET_BROADCAST", "PACKET_MULTICAST", "PACKET_OTHERHOST", "PACKET_OUTGOING"}[p]
}

// SharedInfoSize is SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on
// x86_64: the tail of every head buffer belongs to skb_shared_info.
const SharedInfoSize = 320

// CacheLine is SMP_CACHE_BYTES on x86_64; SKB_DATA_ALIGN rounds to it.
const CacheLine = 64

// unset marks a header offset that was never set (the kernel uses ~0U).
const unset = -1

// buffer is the head allocation and its skb_shared_info, shared by clones.
type buffer struct {
	b       []byte
	dataref int // skb_shared_info.dataref: how many skbs point at b
}

// SKB is struct sk_buff. Offsets are relative to head, as the kernel's
// are on 64-bit builds (sk_buff_data_t is an offset there).
type SKB struct {
	ID   int // a stable name for the trace: never reused within a run
	buf  *buffer
	data int
	tail int
	end  int
	len  int
	// dataLen is skb->data_len: the bytes of len that are not in the
	// head, here those of the frag_list skbs.
	dataLen int

	// FragList is skb_shinfo(skb)->frag_list: more skbs whose data
	// continues this one's, as __ip_make_skb and ip_frag_reasm chain
	// them. Freed with the head (skb_release_data).
	FragList []*SKB

	MACHeader       int
	NetworkHeader   int
	TransportHeader int

	Protocol  uint16 // skb->protocol, host order (ETH_P_IP = 0x0800)
	Priority  uint32
	IPSummed  CsumState
	CsumStart int // offset from head, for CHECKSUM_PARTIAL
	CsumOff   int // offset from CsumStart of the checksum field
	PktType   PktType
	Dev       string // skb->dev's name; empty when NULL
	Sk        string // the owning socket, for display; empty when NULL
	// Owner is skb->sk itself, for the code that hands an skb's memory
	// on to another (ip_do_fragment); typed by the socket layer.
	Owner    any
	Truesize int
	GSOSize  int
	GSOSegs  int
	GSOType  string

	// Hash is skb->hash, the flow hash; L4Hash and SwHash say where it
	// came from (a socket's sk_txhash, or the flow dissector) and that
	// it is valid, so skb_get_hash computes it only once.
	Hash   uint32
	L4Hash bool
	SwHash bool

	// MstampNs is skb->skb_mstamp_ns: when TCP last sent this skb.
	MstampNs int64

	users  int  // skb->users
	cloned bool // skb->cloned

	// CB is skb->cb: 48 bytes each layer reads through its own struct.
	CB     [48]byte
	CBType string

	// Destructor is skb->destructor: run when the last reference goes,
	// e.g. sock_wfree giving the sender's sndbuf back.
	Destructor func(*SKB)

	// Dst is skb->_skb_refdst: the route attached by the IP layer. Typed by
	// the layer that sets it; the skb does not look inside.
	Dst any

	// Next is skb->next: the rest of a list, as validate_xmit_skb hands
	// GSO segments to dev_hard_start_xmit.
	Next *SKB
}

// New returns an skb whose head holds size bytes, rounded up as
// __alloc_skb does: SKB_DATA_ALIGN(size) plus skb_shared_info, rounded to a
// kmalloc bucket; end is what is left before skb_shared_info.
func New(id, size int) *SKB {
	alloc := KmallocSize(align(size, CacheLine) + SharedInfoSize)
	end := alloc - SharedInfoSize
	return &SKB{
		ID:              id,
		buf:             &buffer{b: make([]byte, end), dataref: 1},
		end:             end,
		MACHeader:       unset,
		NetworkHeader:   unset,
		TransportHeader: unset,
		users:           1,
		Truesize:        TrueSize(alloc),
	}
}

// TrueSize is SKB_TRUESIZE for a head of alloc bytes: the memory charged to
// a socket, the sk_buff struct included.
func TrueSize(alloc int) int { return alloc + align(232, CacheLine) }

// KmallocSize rounds a request up to the kmalloc cache that serves it.
func KmallocSize(n int) int {
	for _, c := range []int{32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192} {
		if n <= c {
			return c
		}
	}
	return align(n, 4096)
}

func align(n, a int) int { return (n + a - 1) / a * a }

// Len is skb->len: bytes from data to tail plus those on the frag_list.
func (s *SKB) Len() int { return s.len }

// DataLen is skb->data_len: the bytes not in the head (skb_is_nonlinear).
func (s *SKB) DataLen() int { return s.dataLen }

// HeadLen is skb_headlen(): the bytes from data to tail.
func (s *SKB) HeadLen() int { return s.len - s.dataLen }

// AddFrag chains f on the frag_list as __ip_make_skb and
// inet_frag_reasm_finish do: its bytes join len and data_len, its memory
// joins truesize.
func (s *SKB) AddFrag(f *SKB) {
	s.FragList = append(s.FragList, f)
	s.len += f.len
	s.dataLen += f.len
	s.Truesize += f.Truesize
}

// DetachFragList is skb_frag_list_init() after ip_fraglist_init took the
// list: the head keeps only its own bytes, and the frags their memory.
func (s *SKB) DetachFragList() []*SKB {
	l := s.FragList
	s.FragList = nil
	s.len -= s.dataLen
	s.dataLen = 0
	for _, f := range l {
		s.Truesize -= f.Truesize
	}
	return l
}

// CopyBits is skb_copy_bits(): n bytes from offset off after data, across
// the head and the frag_list; nil if the skb is shorter.
func (s *SKB) CopyBits(off, n int) []byte {
	if off < 0 || n < 0 || off+n > s.len {
		return nil
	}
	out := make([]byte, 0, n)
	out = append(out, s.Data()...)
	for _, f := range s.FragList {
		out = append(out, f.Data()...)
	}
	return out[off : off+n]
}

// Headroom is skb_headroom(): data - head.
func (s *SKB) Headroom() int { return s.data }

// Tailroom is skb_tailroom(): end - tail.
func (s *SKB) Tailroom() int { return s.end - s.tail }

// DataOff, TailOff and EndOff expose the pointers as offsets from head.
func (s *SKB) DataOff() int { return s.data }

// TailOff is skb->tail.
func (s *SKB) TailOff() int { return s.tail }

// EndOff is skb->end.
func (s *SKB) EndOff() int { return s.end }

// Users is refcount_read(&skb->users).
func (s *SKB) Users() int { return s.users }

// Get is skb_get(): one more reference to the same sk_buff.
func (s *SKB) Get() { s.users++ }

// Put drops one reference and reports whether it was the last: the caller
// then releases the skb (kfree_skb's skb_unref test).
func (s *SKB) Put() bool {
	s.users--
	return s.users == 0
}

// ReleaseData drops this skb's hold on the shared buffer (skb_release_data).
func (s *SKB) ReleaseData() { s.buf.dataref-- }

// Cloned is skb_cloned(): the buffer is shared with another sk_buff.
func (s *SKB) Cloned() bool { return s.cloned && s.buf.dataref > 1 }

// Dataref is the shared buffer's reference count.
func (s *SKB) Dataref() int { return s.buf.dataref }

// Reserve is skb_reserve(): move data and tail on, growing headroom. It is
// only valid on an empty skb.
func (s *SKB) Reserve(n int) error {
	if s.len != 0 || s.tail+n > s.end {
		return fmt.Errorf("skb_reserve(%d) on skb %d: len %d, tailroom %d", n, s.ID, s.len, s.Tailroom())
	}
	s.data += n
	s.tail += n
	return nil
}

// Put is skb_put(): extend the data area at the tail and return it. Past
// end the kernel calls skb_over_panic(); here it is an error.
func (s *SKB) PutBytes(n int) ([]byte, error) {
	if n < 0 || s.tail+n > s.end {
		return nil, fmt.Errorf("skb_over_panic: skb %d put %d, tailroom %d", s.ID, n, s.Tailroom())
	}
	b := s.buf.b[s.tail : s.tail+n]
	s.tail += n
	s.len += n
	return b, nil
}

// PutBytesErr is skb_put() for a caller that fills the bytes later.
func (s *SKB) PutBytesErr(n int) error {
	_, err := s.PutBytes(n)
	return err
}

// Push is skb_push(): prepend n bytes of header space. Below head the
// kernel calls skb_under_panic(); here it is an error.
func (s *SKB) Push(n int) ([]byte, error) {
	if n < 0 || n > s.data {
		return nil, fmt.Errorf("skb_under_panic: skb %d push %d, headroom %d", s.ID, n, s.data)
	}
	s.data -= n
	s.len += n
	return s.buf.b[s.data : s.data+n], nil
}

// Pull is skb_pull(): consume n bytes at the front. Pulling more than len
// returns an error and changes nothing, as skb_pull returns NULL.
func (s *SKB) Pull(n int) error {
	if n < 0 || n > s.HeadLen() {
		return fmt.Errorf("skb_pull(%d) on skb %d of len %d", n, s.ID, s.len)
	}
	s.data += n
	s.len -= n
	return nil
}

// Trim is pskb_trim(): cut the data to n bytes (dropping padding). On a
// frag_list the kernel frees the skbs past the cut; here they stay
// chained with no bytes, and go with the head.
func (s *SKB) Trim(n int) {
	if n < 0 || n >= s.len {
		return
	}
	if hl := s.HeadLen(); n < hl {
		s.tail -= hl - n
		s.len -= hl - n
		n = 0
	} else {
		n -= hl
	}
	for _, f := range s.FragList {
		if n < f.len {
			cut := f.len - n
			f.Trim(n)
			s.len -= cut
			s.dataLen -= cut
		}
		n = max(n-f.len, 0)
	}
}

// CsumUnnecessary is skb_csum_unnecessary(): nobody needs to verify the
// checksum, because a NIC did or because it was never computed in the
// first place (CHECKSUM_PARTIAL, looped back on this host).
func (s *SKB) CsumUnnecessary() bool {
	return s.IPSummed == ChecksumUnnecessary || s.IPSummed == ChecksumPartial
}

// Data returns the bytes from data to tail.
func (s *SKB) Data() []byte { return s.buf.b[s.data:s.tail] }

// At returns n bytes at offset off from head (for header views).
func (s *SKB) At(off, n int) []byte {
	if off < 0 || off+n > len(s.buf.b) {
		return nil
	}
	return s.buf.b[off : off+n]
}

// ResetMACHeader is skb_reset_mac_header(): the MAC header starts at data.
func (s *SKB) ResetMACHeader() { s.MACHeader = s.data }

// ResetNetworkHeader is skb_reset_network_header().
func (s *SKB) ResetNetworkHeader() { s.NetworkHeader = s.data }

// ResetTransportHeader is skb_reset_transport_header().
func (s *SKB) ResetTransportHeader() { s.TransportHeader = s.data }

// SetNetworkHeader is skb_set_network_header(skb, off).
func (s *SKB) SetNetworkHeader(off int) { s.NetworkHeader = s.data + off }

// Clone is the buffer half of skb_clone(): a new sk_buff with its own
// metadata and pointers, sharing the head buffer. Both are marked cloned.
func (s *SKB) Clone(id int) *SKB {
	n := *s
	n.ID = id
	n.users = 1
	n.Destructor = nil
	n.Sk = ""
	n.Owner = nil
	n.Next = nil
	s.cloned = true
	n.cloned = true
	n.FragList = append([]*SKB(nil), s.FragList...)
	s.buf.dataref++
	return &n
}

// ExpandHead is the buffer half of pskb_expand_head(skb, nhead, 0): a
// new head buffer with nhead more bytes in front, the old contents copied
// after them and every offset moved on; this skb drops its hold on the
// old buffer (clones keep it) and is no longer cloned. It returns the
// size of the new allocation.
func (s *SKB) ExpandHead(nhead int) int {
	alloc := KmallocSize(align(len(s.buf.b)+nhead, CacheLine) + SharedInfoSize)
	nb := &buffer{b: make([]byte, alloc-SharedInfoSize), dataref: 1}
	copy(nb.b[nhead:], s.buf.b)
	s.buf.dataref--
	s.buf = nb
	s.data += nhead
	s.tail += nhead
	s.end = len(nb.b)
	for _, p := range []*int{&s.MACHeader, &s.NetworkHeader, &s.TransportHeader} {
		if *p != unset {
			*p += nhead
		}
	}
	s.CsumStart += nhead
	s.cloned = false
	return alloc
}
