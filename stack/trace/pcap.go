package trace

import (
	"encoding/binary"
	"fmt"
	"io"
)

// pcap link types (https://www.tcpdump.org/linktypes.html).
const (
	LinkTypeEthernet = 1
	// LinkTypePPPHDLC is LINKTYPE_PPP_HDLC: PPP in HDLC-like framing
	// (RFC 1662) with the byte stuffing undone and without flags or
	// FCS, starting with the address and control bytes 0xff 0x03.
	LinkTypePPPHDLC = 50
)

// LinkType is the pcap link type of wire's frames.
func (t *Trace) LinkType(wire string) int {
	for _, l := range t.Links {
		if l.Name == wire {
			return l.LinkType
		}
	}
	return LinkTypeEthernet
}

// PcapRecord is one packet of a pcap file: when and what.
type PcapRecord struct {
	T    int64
	Data []byte
}

// PcapRecords is what a pcap of wire (every wire when empty) holds: the
// link type and the packets. An Ethernet wire's frames are written as
// they are. A serial PPP wire carries a byte stream (flags, escapes,
// FCS, as the UART sends it, in stretches that need not end at a frame's
// end): it is cut at the flags, per sending host, unstuffed, and each
// frame is written without its FCS (as Ethernet frames are written
// without theirs) at the time its first byte went out. Wires of
// different link types cannot share one classic pcap file.
func (t *Trace) PcapRecords(wire string) (int, []PcapRecord, error) {
	lt := -1
	type stream struct {
		buf   []byte
		start int64
		esc   bool
	}
	streams := map[string]*stream{}
	var recs []PcapRecord
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != Wire || wire != "" && e.Wire != wire {
			continue
		}
		elt := t.LinkType(e.Wire)
		if lt >= 0 && elt != lt {
			return 0, nil, fmt.Errorf("wires of different link types (%d, %d): write one wire at a time", lt, elt)
		}
		lt = elt
		if lt != LinkTypePPPHDLC {
			recs = append(recs, PcapRecord{e.T, e.Frame})
			continue
		}
		key := e.Wire + "\x00" + e.Host
		st := streams[key]
		if st == nil {
			st = &stream{}
			streams[key] = st
		}
		for _, c := range e.Frame {
			switch {
			case c == 0x7e:
				if len(st.buf) > 2 {
					recs = append(recs, PcapRecord{st.start, st.buf[:len(st.buf)-2]})
				}
				st.buf, st.esc = nil, false
				continue
			case c == 0x7d:
				st.esc = true
				continue
			case c < 0x20:
				continue // not stuffed: line noise the receiver ignores
			}
			if st.esc {
				c ^= 0x20
				st.esc = false
			}
			if len(st.buf) == 0 {
				st.start = e.T
			}
			st.buf = append(st.buf, c)
		}
	}
	if lt < 0 {
		lt = t.LinkType(wire)
	}
	return lt, recs, nil
}

// WritePcap writes the frames seen on wire (every wire when empty) as a
// classic pcap file with nanosecond timestamps, in the wire's link type
// (PcapRecords). It has no dependencies, so the browser can offer the
// download; the command line writes the same bytes with gopacket's
// pcapgo, and a test holds the two to each other.
func (t *Trace) WritePcap(w io.Writer, wire string) error {
	lt, recs, err := t.PcapRecords(wire)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b23c4d) // nanosecond-resolution magic
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535) // snaplen
	le.PutUint32(hdr[20:], uint32(lt))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	rec := make([]byte, 16)
	for _, r := range recs {
		le.PutUint32(rec[0:], uint32(r.T/1_000_000_000))
		le.PutUint32(rec[4:], uint32(r.T%1_000_000_000))
		le.PutUint32(rec[8:], uint32(len(r.Data)))
		le.PutUint32(rec[12:], uint32(len(r.Data)))
		if _, err := w.Write(rec); err != nil {
			return err
		}
		if _, err := w.Write(r.Data); err != nil {
			return err
		}
	}
	return nil
}
