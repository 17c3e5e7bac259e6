package main

import (
	"io"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"skbscope/stack/trace"
)

// writePcap writes the frames seen on wire (every wire when empty), at
// their virtual time, as a pcap file of the wire's link type: Ethernet
// frames (FCS not included), or for a serial PPP line its frames
// unframed (trace.PcapRecords). It lives in the server, not in
// stack/trace, to keep gopacket out of app.wasm.
func writePcap(t *trace.Trace, wire string, w io.Writer) error {
	lt, recs, err := t.PcapRecords(wire)
	if err != nil {
		return err
	}
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(65535, layers.LinkType(lt)); err != nil {
		return err
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, r.T).UTC(), CaptureLength: len(r.Data), Length: len(r.Data)}
		if err := pw.WritePacket(ci, r.Data); err != nil {
			return err
		}
	}
	return nil
}
