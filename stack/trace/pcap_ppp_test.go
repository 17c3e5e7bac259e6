package trace

import (
	"bytes"
	"testing"
)

// A serial PPP wire is cut at its flags per sending host, even when a
// frame spans two wire events, unstuffed and written without its FCS;
// a pcap of every wire refuses to mix link types.
func TestPcapRecordsPPP(t *testing.T) {
	tr := &Trace{Links: []Link{{Name: "ttyS0", LinkType: LinkTypePPPHDLC}}}
	tr.Events = []Event{
		{Kind: Wire, Wire: "ttyS0", Host: "A", T: 10, Frame: []byte{0x7e, 0xff, 0x7d, 0x23, 0x00}},
		{Kind: Wire, Wire: "ttyS0", Host: "B", T: 15, Frame: []byte{0x7e, 0x41, 0x42, 0x43, 0x7e}},
		{Kind: Wire, Wire: "ttyS0", Host: "A", T: 20, Frame: []byte{0x21, 0x7d, 0x5e, 0xaa, 0xbb, 0x7e}},
	}
	lt, recs, err := tr.PcapRecords("ttyS0")
	if err != nil || lt != LinkTypePPPHDLC || len(recs) != 2 {
		t.Fatalf("link type %d, %d records, %v", lt, len(recs), err)
	}
	if recs[1].T != 10 || !bytes.Equal(recs[1].Data, []byte{0xff, 0x03, 0x21, 0x7e}) {
		t.Errorf("A's frame at %d: % x", recs[1].T, recs[1].Data)
	}
	if !bytes.Equal(recs[0].Data, []byte{0x41}) {
		t.Errorf("B's frame: % x", recs[0].Data)
	}
	tr.Events = append(tr.Events, Event{Kind: Wire, Wire: "lan0", Host: "A", Frame: make([]byte, 60)})
	if _, _, err := tr.PcapRecords(""); err == nil {
		t.Error("a pcap of an Ethernet and a PPP wire together")
	}
}
