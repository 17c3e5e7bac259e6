package scenario

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"skbscope/stack/trace"
)

// sendPath is the UDP send path of Linux 6.12 that issue #2 asks for, in
// the order the functions are entered.
var sendPath = []string{
	"__sys_sendto", "__sock_sendmsg", "inet_sendmsg", "inet_send_prepare", "inet_autobind",
	"udp_sendmsg", "ip_route_output_flow", "ip_make_skb", "udp_send_skb", "ip_send_skb",
	"ip_local_out", "__ip_local_out", "nf_hook", "dst_output", "ip_output", "nf_hook",
	"ip_finish_output", "__ip_finish_output", "ip_finish_output2", "neigh_output",
	"neigh_hh_output", "dev_queue_xmit", "__dev_queue_xmit", "__dev_xmit_skb",
	"sch_direct_xmit", "validate_xmit_skb", "dev_hard_start_xmit", "xmit_one",
	"dev_queue_xmit_nit", "netdev_start_xmit", "e1000_xmit_frame",
}

func TestUDPSendtoPath(t *testing.T) {
	tr := runLesson(t, "udp-sendto")
	var calls []*trace.Event
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Kind == trace.Call {
			calls = append(calls, e)
		}
	}
	// Each function of the path appears, in order, as a call in the
	// sending task's context, and returns.
	next := 0
	for _, c := range calls {
		if next < len(sendPath) && c.Fn == sendPath[next] {
			if c.Host != "A" || c.Ctx != "task:sender[101]" {
				t.Errorf("%s ran in %s on %s, want task:sender[101] on A", c.Fn, c.Ctx, c.Host)
			}
			if ret := retOf(tr, c.Seq); ret == nil {
				t.Errorf("%s (seq %d) never returns", c.Fn, c.Seq)
			}
			next++
		}
	}
	if next != len(sendPath) {
		t.Fatalf("path stops after %v; missing %s", sendPath[:next], sendPath[next])
	}
	want := map[string]string{
		"__sys_sendto": "5", "udp_sendmsg": "5", "ip_send_skb": "0",
		"__dev_queue_xmit": "NET_XMIT_SUCCESS", "e1000_xmit_frame": "NETDEV_TX_OK",
		"sch_direct_xmit": "true",
	}
	for _, c := range calls {
		if w, ok := want[c.Fn]; ok {
			if r := retOf(tr, c.Seq); r == nil || r.Ret != w {
				t.Errorf("%s returned %v, want %s", c.Fn, r, w)
			}
		}
	}
}

func retOf(tr *trace.Trace, call int) *trace.Event {
	for i := call + 1; i < len(tr.Events); i++ {
		if e := &tr.Events[i]; e.Kind == trace.Ret && e.Up == call {
			return e
		}
	}
	return nil
}

// TestNesting checks every lesson's call/ret structure: each event's Up
// is a call still open, each ret closes the call it names, the stack
// rebuilt by Stack() holds only open calls, and nothing is left open
// except the calls of tasks still asleep at the end and, on a host that
// oopsed, the calls on the stack of its oops (the panic ended them).
func TestNesting(t *testing.T) {
	for _, l := range Lessons() {
		tr := runLesson(t, l.Name)
		open := map[int]bool{}
		for i := range tr.Events {
			e := &tr.Events[i]
			if e.Up >= 0 && !open[e.Up] {
				t.Fatalf("%s seq %d: Up %d is not an open call", l.Name, i, e.Up)
			}
			for _, up := range tr.Stack(i) {
				if up != i && !open[up] {
					t.Fatalf("%s seq %d: Stack() holds closed call %d", l.Name, i, up)
				}
			}
			switch e.Kind {
			case trace.Call:
				open[e.Seq] = true
			case trace.Ret:
				if tr.Events[e.Up].Fn != e.Fn {
					t.Fatalf("%s seq %d: ret from %s closes %s", l.Name, i, e.Fn, tr.Events[e.Up].Fn)
				}
				delete(open, e.Up)
			}
		}
		for seq := range open {
			if fn := tr.Events[seq].Fn; fn != "schedule" && !sleeping(tr, seq) && !oopsed(tr, seq) {
				t.Errorf("%s: %s (seq %d) never returns", l.Name, fn, seq)
			}
		}
	}
}

// sleeping reports whether call seq belongs to a task still asleep: a
// schedule() call above it never returned.
func sleeping(tr *trace.Trace, seq int) bool {
	for i := seq + 1; i < len(tr.Events); i++ {
		e := &tr.Events[i]
		if e.Kind == trace.Call && e.Fn == "schedule" && slices.Contains(tr.Stack(i), seq) && retOf(tr, i) == nil {
			return true
		}
	}
	return false
}

// oopsed reports whether call seq was open when its host oopsed: it is
// on the stack of that host's oops event.
func oopsed(tr *trace.Trace, seq int) bool {
	i := oopsOf(tr, tr.Events[seq].Host)
	return i >= 0 && slices.Contains(tr.Stack(i), seq)
}

// oopsOf is the seq of host's oops, or -1.
func oopsOf(tr *trace.Trace, host string) int {
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Kind == trace.Oops && e.Host == host {
			return i
		}
	}
	return -1
}

// TestUDPSendtoWireFrame decodes the frame on the wire with gopacket, an
// independent decoder, and checks addresses, ports, payload and both
// checksums (recomputed by gopacket's serializer).
func TestUDPSendtoWireFrame(t *testing.T) {
	tr := runLesson(t, "udp-sendto")
	var frames [][]byte
	for _, e := range tr.Events {
		if e.Kind == trace.Wire {
			frames = append(frames, e.Frame)
		}
	}
	if len(frames) != 1 {
		t.Fatalf("%d frames on the wire, want 1", len(frames))
	}
	f := frames[0]
	if len(f) != 60 {
		t.Errorf("frame is %d bytes; a short frame is padded to ETH_ZLEN (60) by the NIC", len(f))
	}
	p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decode: %v", el.Error())
	}
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil {
		t.Fatalf("no IPv4/UDP in %x", f)
	}
	if eth.SrcMAC.String() != "02:00:00:00:00:0a" || eth.DstMAC.String() != "02:00:00:00:00:0b" {
		t.Errorf("MACs %s → %s", eth.SrcMAC, eth.DstMAC)
	}
	if ip.SrcIP.String() != "192.0.2.1" || ip.DstIP.String() != "192.0.2.2" || ip.TTL != 64 || ip.Flags != layers.IPv4DontFragment {
		t.Errorf("IPv4 %s → %s ttl %d flags %v", ip.SrcIP, ip.DstIP, ip.TTL, ip.Flags)
	}
	if udp.DstPort != 9000 || udp.SrcPort < 32768 || udp.SrcPort > 60999 || string(udp.Payload) != "hello" || udp.Length != 13 {
		t.Errorf("UDP %d → %d len %d payload %q", udp.SrcPort, udp.DstPort, udp.Length, udp.Payload)
	}
	// Recompute both checksums with gopacket and compare.
	wantIP, wantUDP := ip.Checksum, udp.Checksum
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, udp, gopacket.Payload(udp.Payload)); err != nil {
		t.Fatal(err)
	}
	re := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default)
	if got := re.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Checksum; got != wantIP {
		t.Errorf("IPv4 checksum %#04x, gopacket computes %#04x", wantIP, got)
	}
	if got := re.Layer(layers.LayerTypeUDP).(*layers.UDP).Checksum; got != wantUDP {
		t.Errorf("UDP checksum %#04x, gopacket computes %#04x", wantUDP, got)
	}
	// Host B's NIC received the same frame into its RX ring.
	var rx *trace.Event
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Host == "B" && e.Kind == trace.Enqueue && e.Queue == "eth0 rx_ring" {
			rx = e
		}
	}
	if rx == nil || string(rx.Frame) != string(f) {
		t.Fatal("host B's RX ring did not receive the frame")
	}
}

// liveSkbs follows every skb through tr: those not freed at the end,
// each with the queue it sits in ("" for none), and every skb's latest
// event.
func liveSkbs(tr *trace.Trace) (live map[int]string, last map[int]int) {
	live, last = map[int]string{}, map[int]int{}
	for _, e := range tr.Events {
		for _, id := range e.Skb {
			last[id] = e.Seq
			switch e.Kind {
			case trace.Alloc:
				live[id] = ""
			case trace.Clone:
				if id != e.Skb[0] {
					live[id] = ""
				}
			case trace.Free, trace.Drop:
				delete(live, id)
			case trace.Enqueue:
				live[id] = e.Queue
			case trace.Dequeue:
				live[id] = ""
			}
		}
	}
	return live, last
}

// TestSkbAccounting: every skb allocated is freed, or still in a queue
// at the end of the run, or held by a host that oopsed (its last event
// is on that host, at or before the oops: the panic stopped it there).
func TestSkbAccounting(t *testing.T) {
	for _, l := range Lessons() {
		tr := runLesson(t, l.Name)
		live, last := liveSkbs(tr)
		for id, q := range live {
			e := &tr.Events[last[id]]
			if o := oopsOf(tr, e.Host); o >= 0 && e.Seq <= o {
				continue
			}
			if q == "" || strings.Contains(q, "on stack") {
				t.Errorf("%s: skb %d is neither freed nor queued at the end", l.Name, id)
			}
		}
	}
}
