package scenario

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"skbscope/stack/trace"
)

// offloadsVariant runs the offloads lesson with C's NIC set as given
// (nil: as the lesson has it).
func offloadsVariant(t *testing.T, o *Offloads) *trace.Trace {
	t.Helper()
	f, err := Load("offloads")
	if err != nil {
		t.Fatal(err)
	}
	if o != nil {
		f.Hosts[2].NICs[0].Offloads = o
	}
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func off() *bool { b := false; return &b }

// senderStream decodes every frame host sent on the wire with gopacket
// and checks it as a receiver would: valid IPv4 and TCP checksums,
// tot_len matching the frame, no payload above the MSS, IP IDs counting
// up by one, sequence numbers continuing where the last segment ended,
// FIN only at the end. It returns the payload bytes in order.
func senderStream(t *testing.T, tr *trace.Trace, host string) []byte {
	t.Helper()
	const mss = 1448
	var stream []byte
	var nextSeq uint32
	var lastID uint16
	frames := 0
	for _, e := range tr.Events {
		if e.Kind != trace.Wire || e.Host != host {
			continue
		}
		p := gopacket.NewPacket(e.Frame, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("%s: not TCP/IPv4: %x", host, e.Frame)
		}
		if int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
			t.Errorf("%s frame %d: tot_len %d, packet %d bytes", host, frames, ip.Length, len(ip.Contents)+len(ip.Payload))
		}
		ipWant := ip.Checksum
		tcpWant := tcp.Checksum
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ip, tcp, gopacket.Payload(tcp.Payload)); err != nil {
			t.Fatal(err)
		}
		re := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default)
		if got := re.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Checksum; got != ipWant {
			t.Errorf("%s frame %d: IP checksum %#04x, want %#04x", host, frames, ipWant, got)
		}
		if got := re.Layer(layers.LayerTypeTCP).(*layers.TCP).Checksum; got != tcpWant {
			t.Errorf("%s frame %d: TCP checksum %#04x, want %#04x", host, frames, tcpWant, got)
		}
		if frames > 0 && ip.Id != lastID+1 {
			t.Errorf("%s frame %d: IP ID %d after %d", host, frames, ip.Id, lastID)
		}
		lastID = ip.Id
		if len(tcp.Payload) > mss {
			t.Errorf("%s frame %d: %d bytes of payload > MSS %d", host, frames, len(tcp.Payload), mss)
		}
		switch {
		case tcp.SYN:
			nextSeq = tcp.Seq + 1
		case len(tcp.Payload) > 0 || tcp.FIN:
			if tcp.Seq != nextSeq {
				t.Errorf("%s frame %d: seq %d, want %d", host, frames, tcp.Seq, nextSeq)
			}
			stream = append(stream, tcp.Payload...)
			nextSeq = tcp.Seq + uint32(len(tcp.Payload))
			if tcp.FIN {
				nextSeq++
			}
		}
		frames++
	}
	return stream
}

func countCalls(tr *trace.Trace, host, fn string) int {
	c := 0
	for _, e := range tr.Events {
		if e.Host == host && e.Kind == trace.Call && e.Fn == fn {
			c++
		}
	}
	return c
}

// TestOffloadsSameBytes: with TSO (A), with GSO in validate_xmit_skb
// (C, tso off), and with neither offload nor hardware checksums (tso,
// gso and tx off), every frame on the wire is a valid segment of at most
// one MSS, and the same 256 KiB arrive in the same order.
func TestOffloadsSameBytes(t *testing.T) {
	tr := runLesson(t, "offloads")
	tso := senderStream(t, tr, "A")
	gso := senderStream(t, tr, "C")
	tr2 := offloadsVariant(t, &Offloads{TSO: off(), GSO: off(), TxCsum: off()})
	none := senderStream(t, tr2, "C")
	if len(tso) != 262144 {
		t.Fatalf("TSO sender put %d bytes on the wire, want 262144", len(tso))
	}
	if !bytes.Equal(tso, gso) || !bytes.Equal(tso, none) {
		t.Errorf("streams differ: TSO %d bytes, GSO %d, neither %d", len(tso), len(gso), len(none))
	}
	// With tx checksumming off too, tcp_gso_segment computes each
	// segment's checksum itself.
	sw := 0
	for _, e := range tr2.Events {
		if e.Host == "C" && e.Kind == trace.Call && e.Fn == "tcp_gso_segment" && strings.Contains(e.Note, "computed here") {
			sw++
		}
	}
	if sw == 0 {
		t.Error("tx off: no tcp_gso_segment computed the checksums")
	}
}

// TestOffloadsTSOPath: on A one GSO skb goes through ip_output and the
// driver (e1000_tso) for many frames on the wire; nothing is cut in
// software.
func TestOffloadsTSOPath(t *testing.T) {
	tr := runLesson(t, "offloads")
	gsoOut, tsoCtx := countCalls(tr, "A", "ip_finish_output_gso"), countCalls(tr, "A", "e1000_tso")
	if gsoOut == 0 || gsoOut != tsoCtx {
		t.Errorf("ip_finish_output_gso %d times, e1000_tso %d: want the same, > 0", gsoOut, tsoCtx)
	}
	if n := countCalls(tr, "A", "skb_segment"); n != 0 {
		t.Errorf("skb_segment ran %d times on A, which has TSO", n)
	}
	outputs, frames := countCalls(tr, "A", "ip_output"), 0
	big := 0
	for _, e := range tr.Events {
		if e.Host == "A" && e.Kind == trace.Wire {
			frames++
		}
		if e.Host == "A" && e.Kind == trace.Call && e.Fn == "e1000_xmit_frame" && len(e.Snap) > 0 {
			if sn := tr.Snaps[e.Snap[0]]; sn.GSOSegs >= 8 && sn.GSOType == "SKB_GSO_TCPV4" {
				big++
			}
		}
	}
	if frames < 2*outputs {
		t.Errorf("%d frames from %d ip_output calls: TSO should put many frames on the wire per skb", frames, outputs)
	}
	if big == 0 {
		t.Error("no skb of 8 or more segments reached e1000_xmit_frame")
	}
}

// TestOffloadsGSOPath: on C (tso off) validate_xmit_skb segments each GSO
// skb: skb_segment returns as many skbs as gso_segs, each of them a
// single frame the driver maps without a TSO context.
func TestOffloadsGSOPath(t *testing.T) {
	tr := runLesson(t, "offloads")
	if n := countCalls(tr, "C", "e1000_tso"); n != 0 {
		t.Errorf("e1000_tso ran %d times on C, whose TSO is off", n)
	}
	segs := 0
	for i, e := range tr.Events {
		if e.Host != "C" || e.Kind != trace.Call || e.Fn != "skb_segment" {
			continue
		}
		segs++
		in := tr.Snaps[e.Snap[0]]
		for _, r := range tr.Events[i:] {
			if r.Host == "C" && r.Kind == trace.Ret && r.Fn == "skb_segment" {
				if len(r.Skb) != in.GSOSegs || in.GSOSegs < 2 {
					t.Errorf("skb_segment of a %d-segment skb returned %d skbs", in.GSOSegs, len(r.Skb))
				}
				break
			}
		}
	}
	if segs == 0 {
		t.Fatal("skb_segment never ran on C")
	}
	for _, e := range tr.Events {
		if e.Host == "C" && e.Kind == trace.Call && e.Fn == "e1000_xmit_frame" && len(e.Snap) > 0 {
			if sn := tr.Snaps[e.Snap[0]]; sn.Len > 1514 || sn.GSOSize != 0 {
				t.Fatalf("C's driver got a %d-byte skb, gso_size %d", sn.Len, sn.GSOSize)
			}
		}
	}
}

// TestBQLAdapts: e1000e's byte queue limit starts at zero, stops the
// queue (STACK_XOFF) as soon as bytes are in flight, grows when the ring
// runs dry, and TX completions wake the queue again.
func TestBQLAdapts(t *testing.T) {
	tr := runLesson(t, "offloads")
	var set, cleared, grew int
	for _, e := range tr.Events {
		if e.Host != "A" {
			continue
		}
		switch {
		case strings.Contains(e.Note, "__QUEUE_STATE_STACK_XOFF set"):
			set++
		case strings.Contains(e.Note, "__QUEUE_STATE_STACK_XOFF cleared"):
			cleared++
		case e.Fn == "dql_completed" && e.Kind == trace.Call && strings.Contains(e.Note, "limit grows"):
			grew++
		}
	}
	if set == 0 || cleared == 0 || grew == 0 {
		t.Errorf("STACK_XOFF set %d, cleared %d times; limit grew %d times", set, cleared, grew)
	}
}

// TestNeededHeadroom: a NIC that wants 256 bytes of extra headroom
// makes ip_finish_output2 reallocate TCP's skbs (skb_expand_head); the
// frames and the bytes are unchanged.
func TestNeededHeadroom(t *testing.T) {
	f, err := Load("offloads")
	if err != nil {
		t.Fatal(err)
	}
	f.Hosts[0].NICs[0].NeededHeadroom = 256
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := countCalls(tr, "A", "skb_expand_head"); n == 0 {
		t.Error("skb_expand_head never ran")
	}
	if n := countCalls(tr, "C", "skb_expand_head"); n != 0 {
		t.Errorf("skb_expand_head ran %d times on C, which needs no extra room", n)
	}
	if got := senderStream(t, tr, "A"); len(got) != 262144 {
		t.Errorf("%d bytes sent", len(got))
	}
}

// TestOffloadsField: turning on what a chip lacks is refused with the
// field's position.
func TestOffloadsField(t *testing.T) {
	in := `{
  "version": 1,
  "hosts": [
    {"name": "A",
     "nics": [{"name": "eth0", "model": "cs89x0", "mac": "02:00:00:00:00:01",
               "addr": "192.0.2.1/24", "offloads": {"tso": true}, "needed_headroom": 999}]}
  ]
}`
	_, err := Parse([]byte(in))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"hosts[0].nics[0].offloads.tso: cs89x0 has no tso", "hosts[0].nics[0].needed_headroom: 999 outside 0..256"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
