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
// their virtual time, as a pcap file of Ethernet frames (FCS not
// included). It lives in the server, not in stack/trace, to keep gopacket
// out of app.wasm.
func writePcap(t *trace.Trace, wire string, w io.Writer) error {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != trace.Wire || wire != "" && e.Wire != wire {
			continue
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, e.T).UTC(), CaptureLength: len(e.Frame), Length: len(e.Frame)}
		if err := pw.WritePacket(ci, e.Frame); err != nil {
			return err
		}
	}
	return nil
}
