package trace

// SkbSnap is an skb's full state at one moment: the pointers as offsets
// from head, the bytes from head to tail, and the metadata a kernel
// engineer would print with crash(8) or drgn.
type SkbSnap struct {
	ID        int      `json:"id"`
	Buf       Bytes    `json:"buf"` // head..tail; beyond tail is uninitialised
	Data      int      `json:"data"`
	Tail      int      `json:"tail"`
	End       int      `json:"end"`
	Len       int      `json:"len"`
	DataLen   int      `json:"data_len,omitempty"`  // bytes on the frag_list
	FragList  []int    `json:"frag_list,omitempty"` // ids of skb_shinfo(skb)->frag_list
	MAC       int      `json:"mac_header"`          // -1 when unset
	Network   int      `json:"network_header"`
	Transport int      `json:"transport_header"`
	Protocol  uint16   `json:"protocol"`
	Priority  uint32   `json:"priority"`
	IPSummed  string   `json:"ip_summed"`
	CsumStart int      `json:"csum_start,omitempty"`
	CsumOff   int      `json:"csum_offset,omitempty"`
	Users     int      `json:"users"`
	Dataref   int      `json:"dataref"`
	Cloned    bool     `json:"cloned"`
	Dev       string   `json:"dev,omitempty"`
	Sk        string   `json:"sk,omitempty"`
	PktType   string   `json:"pkt_type,omitempty"`
	Truesize  int      `json:"truesize"`
	GSOSize   int      `json:"gso_size,omitempty"`
	GSOSegs   int      `json:"gso_segs,omitempty"`
	GSOType   string   `json:"gso_type,omitempty"`
	CBType    string   `json:"cb_type,omitempty"` // which struct the cb bytes are read as
	CB        []Field  `json:"cb,omitempty"`
	CBRaw     Bytes    `json:"cb_raw"` // the 48 bytes of skb->cb
	Hdrs      []Region `json:"hdrs,omitempty"`
}

// Field is one decoded name = value pair.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Region is a header inside the buffer, by layer: "eth", "ip", "udp", ...
type Region struct {
	Layer  string  `json:"layer"`
	Off    int     `json:"off"`
	Len    int     `json:"len"`
	Fields []Field `json:"fields,omitempty"`
}

// Headroom is data - head.
func (s *SkbSnap) Headroom() int { return s.Data }

// Tailroom is end - tail.
func (s *SkbSnap) Tailroom() int { return s.End - s.Tail }
