package skb

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// Snapshot records the skb's whole state for the trace.
func (s *SKB) Snapshot() trace.SkbSnap {
	return trace.SkbSnap{
		ID:        s.ID,
		Buf:       bytes.Clone(s.buf.b[:s.tail]),
		Data:      s.data,
		Tail:      s.tail,
		End:       s.end,
		Len:       s.len,
		DataLen:   s.dataLen,
		FragList:  s.fragIDs(),
		MAC:       s.MACHeader,
		Network:   s.NetworkHeader,
		Transport: s.TransportHeader,
		Protocol:  s.Protocol,
		Priority:  s.Priority,
		IPSummed:  s.IPSummed.String(),
		CsumStart: s.CsumStart,
		CsumOff:   s.CsumOff,
		Users:     s.users,
		Dataref:   s.buf.dataref,
		Cloned:    s.cloned,
		Dev:       s.Dev,
		Sk:        s.Sk,
		PktType:   s.PktType.String(),
		Truesize:  s.Truesize,
		GSOSize:   s.GSOSize,
		GSOSegs:   s.GSOSegs,
		GSOType:   s.GSOType,
		CBType:    s.CBType,
		CB:        DecodeCB(s.CBType, s.CB[:]),
		CBRaw:     bytes.Clone(s.CB[:]),
		Hdrs:      Regions(s.buf.b[:s.tail], s.MACHeader, s.NetworkHeader, s.TransportHeader),
	}
}

// fragIDs names the frag_list skbs for a snapshot (nil when none).
func (s *SKB) fragIDs() []int {
	var ids []int
	for _, f := range s.FragList {
		ids = append(ids, f.ID)
	}
	return ids
}

// Matches reports whether sn still describes s, so that the recorder can
// reuse the last snapshot instead of storing a copy per event.
func (s *SKB) Matches(sn *trace.SkbSnap) bool {
	return sn.ID == s.ID && sn.Data == s.data && sn.Tail == s.tail && sn.End == s.end &&
		sn.Len == s.len && sn.DataLen == s.dataLen && slices.Equal(sn.FragList, s.fragIDs()) && sn.MAC == s.MACHeader && sn.Network == s.NetworkHeader &&
		sn.Transport == s.TransportHeader && sn.Protocol == s.Protocol &&
		sn.Priority == s.Priority && sn.IPSummed == s.IPSummed.String() &&
		sn.CsumStart == s.CsumStart && sn.CsumOff == s.CsumOff && sn.Users == s.users &&
		sn.Dataref == s.buf.dataref && sn.Cloned == s.cloned && sn.Dev == s.Dev &&
		sn.Sk == s.Sk && sn.PktType == s.PktType.String() && sn.Truesize == s.Truesize &&
		sn.GSOSize == s.GSOSize && sn.GSOSegs == s.GSOSegs && sn.GSOType == s.GSOType &&
		sn.CBType == s.CBType && bytes.Equal(sn.CBRaw, s.CB[:]) && bytes.Equal(sn.Buf, s.buf.b[:s.tail])
}

// Regions finds the headers in buf from the three header offsets and
// decodes their fields. It never trusts the bytes: a short or malformed
// header ends the walk.
func Regions(buf []byte, mac, network, transport int) []trace.Region {
	var rs []trace.Region
	proto := -1
	if mac >= 0 && mac <= len(buf)-header.EthernetLen && (network < 0 || mac < network) {
		e := header.Ethernet(buf[mac:])
		rs = append(rs, trace.Region{Layer: "eth", Off: mac, Len: header.EthernetLen, Fields: []trace.Field{
			{Name: "h_dest", Value: e.Dst().String()},
			{Name: "h_source", Value: e.Src().String()},
			{Name: "h_proto", Value: fmt.Sprintf("0x%04x", e.Type())},
		}})
	}
	if network >= 0 && network <= len(buf)-header.IPv4MinLen && buf[network]>>4 == 4 {
		ip := header.IPv4(buf[network:])
		ihl := ip.IHL()
		if ihl >= header.IPv4MinLen && ihl <= len(buf)-network {
			proto = int(ip.Protocol())
			if ip.FragOff()&header.IPv4Offset != 0 {
				// A later fragment carries data only: its transport
				// header is in the first fragment.
				proto = -1
			}
			rs = append(rs, trace.Region{Layer: "ip", Off: network, Len: ihl, Fields: []trace.Field{
				{Name: "version", Value: fmt.Sprint(ip.Version())},
				{Name: "ihl", Value: fmt.Sprint(ihl / 4)},
				{Name: "tos", Value: fmt.Sprintf("0x%02x", ip.TOS())},
				{Name: "tot_len", Value: fmt.Sprint(ip.TotalLen())},
				{Name: "id", Value: fmt.Sprint(ip.ID())},
				{Name: "frag_off", Value: fragString(ip.FragOff())},
				{Name: "ttl", Value: fmt.Sprint(ip.TTL())},
				{Name: "protocol", Value: protoName(ip.Protocol())},
				{Name: "check", Value: fmt.Sprintf("0x%04x", ip.Checksum())},
				{Name: "saddr", Value: ip.Src().String()},
				{Name: "daddr", Value: ip.Dst().String()},
			}})
			// Until ip_rcv_core sets it (or after dev_queue_xmit_nit
			// resets it), transport_header equals network_header: the
			// layer-4 header still starts after the IP header.
			if transport < network+ihl {
				transport = network + ihl
			}
		}
	}
	if network >= 0 && network <= len(buf)-header.ARPLen && len(rs) > 0 && rs[0].Layer == "eth" &&
		header.Ethernet(buf[rs[0].Off:]).Type() == header.EtherTypeARP {
		a := header.ARP(buf[network:])
		rs = append(rs, trace.Region{Layer: "arp", Off: network, Len: header.ARPLen, Fields: []trace.Field{
			{Name: "ar_op", Value: map[uint16]string{1: "1 (request)", 2: "2 (reply)"}[a.Op()]},
			{Name: "ar_sha", Value: a.SHA().String()},
			{Name: "ar_sip", Value: a.SIP().String()},
			{Name: "ar_tha", Value: a.THA().String()},
			{Name: "ar_tip", Value: a.TIP().String()},
		}})
	}
	if transport >= 0 && transport <= len(buf)-header.ICMPLen && proto == header.ProtoICMP {
		c := header.ICMP(buf[transport:])
		rs = append(rs, trace.Region{Layer: "icmp", Off: transport, Len: header.ICMPLen, Fields: []trace.Field{
			{Name: "type", Value: fmt.Sprint(c.Type())},
			{Name: "code", Value: fmt.Sprint(c.Code())},
			{Name: "checksum", Value: fmt.Sprintf("0x%04x", c.Checksum())},
			{Name: "un.echo.id", Value: fmt.Sprint(c.ID())},
			{Name: "un.echo.sequence", Value: fmt.Sprint(c.Seq())},
		}})
	}
	if transport >= 0 && transport <= len(buf)-header.TCPMinLen && proto == header.ProtoTCP {
		t := header.TCP(buf[transport:])
		doff := t.DataOff()
		if doff >= header.TCPMinLen && doff <= len(buf)-transport {
			rs = append(rs, trace.Region{Layer: "tcp", Off: transport, Len: doff, Fields: tcpFields(t[:doff])})
		}
	}
	if transport >= 0 && transport <= len(buf)-header.UDPLen && proto == header.ProtoUDP {
		u := header.UDP(buf[transport:])
		rs = append(rs, trace.Region{Layer: "udp", Off: transport, Len: header.UDPLen, Fields: []trace.Field{
			{Name: "source", Value: fmt.Sprint(u.SrcPort())},
			{Name: "dest", Value: fmt.Sprint(u.DstPort())},
			{Name: "len", Value: fmt.Sprint(u.Length())},
			{Name: "check", Value: fmt.Sprintf("0x%04x", u.Checksum())},
		}})
	}
	if n := len(rs); n > 0 && rs[n-1].Layer != "eth" {
		last := rs[n-1]
		if end := last.Off + last.Len; end < len(buf) {
			rs = append(rs, trace.Region{Layer: "payload", Off: end, Len: len(buf) - end})
		}
	}
	return rs
}

func fragString(f uint16) string {
	s := fmt.Sprint(int(f&0x1fff) * 8)
	if f&header.IPv4DF != 0 {
		s = "DF " + s
	}
	if f&header.IPv4MF != 0 {
		s = "MF " + s
	}
	return s
}

func protoName(p uint8) string {
	switch p {
	case header.ProtoICMP:
		return "1 (ICMP)"
	case header.ProtoTCP:
		return "6 (TCP)"
	case header.ProtoUDP:
		return "17 (UDP)"
	}
	return fmt.Sprint(p)
}

func tcpFields(t header.TCP) []trace.Field {
	var flags []string
	for i, n := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"} {
		if t.Flags()&(1<<i) != 0 {
			flags = append(flags, n)
		}
	}
	f := []trace.Field{
		{Name: "source", Value: fmt.Sprint(t.SrcPort())},
		{Name: "dest", Value: fmt.Sprint(t.DstPort())},
		{Name: "seq", Value: fmt.Sprint(t.Seq())},
		{Name: "ack_seq", Value: fmt.Sprint(t.Ack())},
		{Name: "doff", Value: fmt.Sprint(t.DataOff() / 4)},
		{Name: "flags", Value: strings.Join(flags, " ")},
		{Name: "window", Value: fmt.Sprint(t.Window())},
		{Name: "check", Value: fmt.Sprintf("0x%04x", t.Checksum())},
	}
	o := t.Options()
	var opts []string
	if o.MSS != 0 {
		opts = append(opts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.SACKPerm {
		opts = append(opts, "sackOK")
	}
	if o.TS {
		opts = append(opts, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
	}
	if o.WScale >= 0 {
		opts = append(opts, fmt.Sprintf("wscale %d", o.WScale))
	}
	for _, b := range o.SACK {
		opts = append(opts, fmt.Sprintf("sack %d-%d", b[0], b[1]))
	}
	if len(opts) > 0 {
		f = append(f, trace.Field{Name: "options", Value: strings.Join(opts, ", ")})
	}
	return f
}
