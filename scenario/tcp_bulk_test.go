//go:build !js

// The bulk transfer runs natively only: it is a long simulation, and
// determinism under wasm is proven by the lessons' golden hashes.

package scenario

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"skbscope/stack/trace"
)

// TestTCPMegabyteEachWay: 1 MiB in each direction at once, over a clean
// link and over one that loses, reorders and duplicates 5 % of frames:
// each side receives exactly the bytes the other sent. On the clean link
// both connections open and close with Linux's flag sequences (on the
// impaired one a duplicated FIN may meet a socket already closed, and get
// the RST Linux would send).
func TestTCPMegabyteEachWay(t *testing.T) {
	for _, impaired := range []bool{false, true} {
		megabyteEachWay(t, impaired)
	}
}

func megabyteEachWay(t *testing.T, impaired bool) {
	const size = 1 << 20
	f, err := Load("tcp-handshake")
	if err != nil {
		t.Fatal(err)
	}
	f.UntilNs = 120_000_000_000
	l := &f.Links[0]
	l.RateBps, l.DelayNs = 100_000_000, 200_000
	if impaired {
		l.LossPct, l.ReorderPct, l.DupPct = 5, 5, 5
	}
	// Two connections, one each way, so that neither side must read and
	// write at once from one single-threaded program.
	sender := func(to string) Program {
		return Program{Name: "sender", AtNs: 1000, Steps: []Step{
			{Op: "socket", Type: "tcp", As: "s"}, {Op: "connect", Sock: "s", To: to},
			{Op: "send", Sock: "s", Size: size}, {Op: "close", Sock: "s"},
		}}
	}
	receiver := Program{Name: "receiver", Steps: []Step{
		{Op: "socket", Type: "tcp", As: "l"}, {Op: "bind", Sock: "l", Addr: "0.0.0.0:80"},
		{Op: "listen", Sock: "l", Count: 16}, {Op: "accept", Sock: "l", As: "c"},
		{Op: "drain", Sock: "c", Size: 65536}, {Op: "close", Sock: "c"},
	}}
	f.Hosts[0].Programs = []Program{sender("192.0.2.2:80"), receiver}
	f.Hosts[1].Programs = []Program{sender("192.0.2.1:80"), receiver}
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	for !r.Step(1 << 20) {
	}
	want := payload(Step{Size: size})
	if got := r.Received("B", "receiver"); !bytes.Equal(got, want) {
		t.Errorf("B received %d bytes, want the %d A sent (equal prefix %d)", len(got), size, commonPrefix(got, want))
	}
	if got := r.Received("A", "receiver"); !bytes.Equal(got, want) {
		t.Errorf("A received %d bytes, want the %d B sent (equal prefix %d)", len(got), size, commonPrefix(got, want))
	}
	tr := r.Trace()
	t.Logf("impaired %v: %d trace events", impaired, len(tr.Events))
	if impaired {
		return
	}
	// Per connection, the first three segments are Linux's handshake and
	// the close is FIN|ACK both ways, with an ACK last.
	conns := map[[2]uint16][]string{}
	var order [][2]uint16
	for _, e := range tr.Events {
		if e.Kind != trace.Wire {
			continue
		}
		p := gopacket.NewPacket(e.Frame, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			continue
		}
		key := [2]uint16{min(uint16(tcp.SrcPort), uint16(tcp.DstPort)), max(uint16(tcp.SrcPort), uint16(tcp.DstPort))}
		if _, ok := conns[key]; !ok {
			order = append(order, key)
		}
		f := ""
		for _, x := range []struct {
			on bool
			c  string
		}{{tcp.SYN, "S"}, {tcp.FIN, "F"}, {tcp.RST, "R"}, {tcp.ACK, "."}} {
			if x.on {
				f += x.c
			}
		}
		conns[key] = append(conns[key], f)
	}
	if len(order) != 2 {
		t.Fatalf("%d connections on the wire, want 2", len(order))
	}
	for _, key := range order {
		fl := conns[key]
		if len(fl) < 6 || fl[0] != "S" || fl[1] != "S." || fl[2] != "." {
			t.Errorf("connection %v starts %v, want S S. .", key, fl[:min(3, len(fl))])
		}
		// One FIN each way (the sender's rides on its last data segment,
		// as tcp_send_fin does when that skb has not left yet), the
		// receiver's after its reader hits end of file, then the last ACK.
		fins := 0
		for _, x := range fl {
			if strings.Contains(x, "F") {
				fins++
			}
		}
		if end := fl[len(fl)-2:]; fins != 2 || end[0] != "F." || end[1] != "." {
			t.Errorf("connection %v: %d FINs, ends %v; want 2 FINs, F. .", key, fins, end)
		}
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
