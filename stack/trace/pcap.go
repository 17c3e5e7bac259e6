package trace

import (
	"encoding/binary"
	"io"
)

// WritePcap writes the frames seen on wire (every wire when empty) as a
// classic pcap file with nanosecond timestamps and Ethernet link type.
// It has no dependencies, so the browser can offer the download; the
// command line writes the same bytes with gopacket's pcapgo, and a test
// holds the two to each other.
func (t *Trace) WritePcap(w io.Writer, wire string) error {
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b23c4d) // nanosecond-resolution magic
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535) // snaplen
	le.PutUint32(hdr[20:], 1)     // LINKTYPE_ETHERNET
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	rec := make([]byte, 16)
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != Wire || wire != "" && e.Wire != wire {
			continue
		}
		le.PutUint32(rec[0:], uint32(e.T/1_000_000_000))
		le.PutUint32(rec[4:], uint32(e.T%1_000_000_000))
		le.PutUint32(rec[8:], uint32(len(e.Frame)))
		le.PutUint32(rec[12:], uint32(len(e.Frame)))
		if _, err := w.Write(rec); err != nil {
			return err
		}
		if _, err := w.Write(e.Frame); err != nil {
			return err
		}
	}
	return nil
}
