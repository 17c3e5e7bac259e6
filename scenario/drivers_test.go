package scenario

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// TestCS8900VsDM9000 checks the lesson's key events: the CS8900A's
// driver stops the queue for every packet and the DM9000's only when its
// TX SRAM holds two frames; both are woken from their TX interrupt and
// NET_TX sends what waited in the qdisc; every frame reaches B intact.
func TestCS8900VsDM9000(t *testing.T) {
	tr := runLesson(t, "cs8900-vs-dm9000")
	type devStats struct{ xmitOK, fromNetTx, stops, stopsNot2, irqWakes, busy int }
	st := map[string]*devStats{"eth0": {}, "eth1": {}}
	sram, maxBand := 0, 0
	var cur string // the device whose driver is running
	for i := range tr.Events {
		e := &tr.Events[i]
		if e.Host != "A" {
			continue
		}
		switch {
		case e.Kind == trace.Call && e.Fn == "net_send_packet":
			cur = "eth0"
		case e.Kind == trace.Call && e.Fn == "dm9000_start_xmit":
			cur = "eth1"
		case e.Kind == trace.Ret && (e.Fn == "net_send_packet" || e.Fn == "dm9000_start_xmit"):
			d := "eth0"
			if e.Fn == "dm9000_start_xmit" {
				d = "eth1"
			}
			switch e.Ret {
			case "NETDEV_TX_OK":
				st[d].xmitOK++
				if e.Ctx == "softirq:NET_TX" {
					st[d].fromNetTx++
				}
			case "NETDEV_TX_BUSY":
				st[d].busy++
			}
		case e.Kind == trace.Enqueue || e.Kind == trace.Dequeue:
			if strings.HasSuffix(e.Queue, "TX SRAM") {
				sram = e.QLen
			}
			if e.Queue == "pfifo_fast band 1" {
				maxBand = max(maxBand, e.QLen)
			}
		case e.Kind == trace.State && strings.HasSuffix(e.Note, "txq stopped (__QUEUE_STATE_DRV_XOFF set)"):
			d := strings.Fields(e.Note)[0]
			if d != cur {
				t.Errorf("seq %d: %s stopped while %s's driver ran", e.Seq, d, cur)
			}
			st[d].stops++
			if d == "eth1" && sram != 2 {
				st[d].stopsNot2++
			}
		case e.Kind == trace.Call && e.Fn == "netif_tx_wake_queue" && strings.HasPrefix(e.Ctx, "hardirq:"):
			st[strings.TrimPrefix(e.Ctx, "hardirq:")].irqWakes++
		}
	}
	cs, dm := st["eth0"], st["eth1"]
	if cs.xmitOK != 6 || cs.stops != 6 || cs.irqWakes != 6 || cs.fromNetTx != 5 || cs.busy != 0 {
		t.Errorf("cs89x0: %+v; want 6 sent, 6 stops, 6 wakes from net_interrupt, 5 sent from NET_TX", *cs)
	}
	if dm.xmitOK != 6 || dm.stops != 5 || dm.stopsNot2 != 0 || dm.irqWakes != 6 || dm.fromNetTx != 4 || dm.busy != 0 {
		t.Errorf("dm9000: %+v; want 6 sent, 5 stops all with 2 frames in the SRAM, 6 wakes, 4 sent from NET_TX", *dm)
	}
	if maxBand < 3 {
		t.Errorf("pfifo_fast band 1 held at most %d skbs: the qdisc never filled while the queue was stopped", maxBand)
	}

	// The frames on each wire, decoded: A's six datagrams, checksums right.
	payloads := map[string]string{"lan0": "via the cs8900", "lan1": "via the dm9000"}
	got := map[string]int{}
	for _, e := range tr.Events {
		if e.Kind != trace.Wire {
			continue
		}
		p := gopacket.NewPacket(e.Frame, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil || p.ErrorLayer() != nil {
			t.Fatalf("seq %d: not a UDP/IPv4 frame: %v", e.Seq, p)
		}
		if string(udp.Payload) != payloads[e.Wire] || udp.DstPort != 9000 {
			t.Errorf("seq %d on %s: payload %q to port %d", e.Seq, e.Wire, udp.Payload, udp.DstPort)
		}
		raw := header.IPv4(e.Frame[header.EthernetLen:])
		seg := raw[raw.IHL():raw.TotalLen()]
		if !raw.ChecksumValid() || header.Fold(header.Sum(header.PseudoSum(raw.Src(), raw.Dst(), raw.Protocol(), len(seg)), seg)) != 0xffff {
			t.Errorf("seq %d: bad IPv4 or UDP checksum", e.Seq)
		}
		got[e.Wire]++
	}
	if got["lan0"] != 6 || got["lan1"] != 6 {
		t.Errorf("frames on the wires %v, want 6 each", got)
	}
	// On B both chips receive without NAPI: netif_rx from the interrupt
	// handler, then the backlog; all twelve datagrams reach the socket.
	rx := map[string]int{}
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Call && e.Fn == "netif_rx" {
			rx[e.Ctx]++
		}
	}
	if rx["hardirq:eth0"] != 6 || rx["hardirq:eth1"] != 6 {
		t.Errorf("netif_rx calls on B by context %v, want 6 from each NIC's interrupt", rx)
	}
	queued := 0
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Enqueue && e.Queue == "sk1 sk_receive_queue" {
			queued++
		}
	}
	if queued != 12 {
		t.Errorf("B's socket got %d datagrams, want 12", queued)
	}
}

// TestNICModelField: the model field chooses the NIC; unknown models and
// a driver that does not match are errors that name the line.
func TestNICModelField(t *testing.T) {
	base := `{"version": 1, "hosts": [{"name": "A", "nics": [{"name": "eth0", %s "mac": "02:00:00:00:00:01", "addr": "192.0.2.1/24"}]}]}`
	for _, c := range []struct{ fields, want string }{
		{``, ""},
		{`"model": "cs89x0",`, ""},
		{`"model": "dm9000", "driver": "dm9000",`, ""},
		{`"driver": "e1000e",`, ""},
		{`"model": "cs8900",`, `line 1, column 75: hosts[0].nics[0].model: NIC model "cs8900" is not modelled (e1000e, cs89x0, dm9000 or ppp)`},
		{`"model": "dm9000", "driver": "e1000e",`, `hosts[0].nics[0].driver: driver "e1000e" does not drive a dm9000 NIC`},
		{`"model": 7,`, "cannot unmarshal number"},
	} {
		_, err := Parse([]byte(strings.Replace(base, "%s", c.fields, 1)))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.fields, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.fields, err, c.want)
		}
	}
	f, _ := Load("cs8900-vs-dm9000")
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	drivers := map[string]string{}
	for _, h := range tr.Hosts {
		for _, d := range h.Devices {
			drivers[h.Name+"."+d.Name] = d.Driver
		}
	}
	if drivers["A.eth0"] != "cs89x0" || drivers["A.eth1"] != "dm9000" || drivers["B.eth1"] != "dm9000" {
		t.Errorf("devices' drivers %v", drivers)
	}
}

// FuzzDriverRX feeds any frame to the CS8900A and the DM9000 on B: their
// receive paths (net_rx, dm9000_rx, netif_rx) must never panic.
func FuzzDriverRX(f *testing.F) {
	f.Add(eth(header.EtherTypeIPv4, ipPacket(header.ProtoUDP, []byte{0x30, 0x39, 0x23, 0x28, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'})))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(make([]byte, 3000))
	f.Fuzz(func(t *testing.T, frame []byte) {
		sc, err := Load("cs8900-vs-dm9000")
		if err != nil {
			t.Fatal(err)
		}
		h := hex.EncodeToString(frame)
		sc.Inject = []Inject{{AtNs: 500, To: "B.eth0", Frame: h}, {AtNs: 500, To: "B.eth1", Frame: h}}
		sc.UntilNs = 3_000_000
		if _, err := Simulate(sc); err != nil {
			t.Fatal(err)
		}
	})
}

// TestModelKnob: the model knob moves every NIC of a lesson to another
// chip (and its 10 Mbit/s), and the lesson still delivers its datagram.
func TestModelKnob(t *testing.T) {
	for _, model := range []string{"cs89x0", "dm9000"} {
		tr, err := RunWith("udp-a-to-b", Knobs{Model: model})
		if err != nil {
			t.Fatal(err)
		}
		xmit := map[string]string{"cs89x0": "net_send_packet", "dm9000": "dm9000_start_xmit"}[model]
		var sent, e1000e, delivered int
		for _, e := range tr.Events {
			switch {
			case e.Kind == trace.Call && e.Fn == xmit:
				sent++
			case e.Kind == trace.Call && e.Fn == "e1000_xmit_frame":
				e1000e++
			case e.Kind == trace.Wire && !strings.Contains(e.Note, "10 Mbit/s"):
				t.Errorf("%s: %s", model, e.Note)
			case e.Host == "B" && e.Kind == trace.Enqueue && strings.HasSuffix(e.Queue, "sk_receive_queue"):
				delivered++
			}
		}
		if sent == 0 || e1000e != 0 || delivered == 0 {
			t.Errorf("%s: %d sends by %s, %d by e1000e, %d datagrams delivered", model, sent, xmit, e1000e, delivered)
		}
	}
	if _, err := RunWith("udp-a-to-b", Knobs{Model: "ne2000"}); err == nil || !strings.Contains(err.Error(), "ne2000") {
		t.Errorf("an unknown model knob: %v", err)
	}
}
