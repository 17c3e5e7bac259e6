package scenario

import (
	"bytes"
	"encoding/json"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

const bridgeScenario = `{
  "version": 1, "name": "bridged", "until_ns": 10000000000,
  "hosts": [{"name": "S",
    "nics": [{"name": "eth0", "mac": "02:00:00:00:00:0a", "addr": "192.0.2.10/24", "mtu": 1500}],
    "programs": [{"name": "echo", "at_ns": 0, "steps": [
      {"op": "socket", "type": "udp", "as": "s"},
      {"op": "bind", "sock": "s", "addr": "0.0.0.0:7"},
      {"op": "recvfrom", "sock": "s", "size": 2048}]}]}],
  "links": [{"name": "tap0", "a": "S.eth0", "b": "bridge", "rate_bps": 1000000000, "delay_ns": 0}]
}`

var outside = net.HardwareAddr{2, 0, 0, 0, 0, 1}

func frame(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBridgeEnd: a link to "bridge" leaves the simulation: frames from
// outside are answered into the outbox, at the virtual time they were
// injected, and a UDP datagram reaches the simulated socket.
func TestBridgeEnd(t *testing.T) {
	f, err := Parse([]byte(bridgeScenario))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	br := r.Bridge()
	if br == nil {
		t.Fatal("no bridge")
	}
	r.AdvanceTo(2_000_000_000) // two idle seconds pass
	if r.Now() != 2_000_000_000 {
		t.Fatalf("clock at %d after AdvanceTo(2 s)", r.Now())
	}
	eth := &layers.Ethernet{SrcMAC: outside, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: outside, SourceProtAddress: []byte{192, 0, 2, 1},
		DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 0, 2, 10}}
	if err := br.Inject(frame(t, eth, arp)); err != nil {
		t.Fatal(err)
	}
	if err := br.Inject([]byte{1, 2, 3}); err == nil {
		t.Error("a 3-byte frame was accepted")
	}
	r.AdvanceTo(2_001_000_000)
	out := br.Outbox()
	if len(out) != 1 {
		t.Fatalf("%d frames out after an ARP request, want 1", len(out))
	}
	p := gopacket.NewPacket(out[0], layers.LayerTypeEthernet, gopacket.Default)
	reply, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok || reply.Operation != layers.ARPReply || net.IP(reply.SourceProtAddress).String() != "192.0.2.10" ||
		net.HardwareAddr(reply.DstHwAddress).String() != outside.String() {
		t.Fatalf("not an ARP reply for 192.0.2.10: %v", p)
	}
	// The reply was recorded on the wire at the injected time, not at 0.
	var wireAt int64 = -1
	for _, e := range r.Trace().Events {
		if e.Kind == "wire" {
			wireAt = e.T
		}
	}
	if wireAt < 2_000_000_000 {
		t.Errorf("last wire event at %d ns, want after 2 s", wireAt)
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 10}}
	udp := &layers.UDP{SrcPort: 5555, DstPort: 7}
	udp.SetNetworkLayerForChecksum(ip)
	eth = &layers.Ethernet{SrcMAC: outside, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x0a}, EthernetType: layers.EthernetTypeIPv4}
	if err := br.Inject(frame(t, eth, ip, udp, gopacket.Payload("from the real world"))); err != nil {
		t.Fatal(err)
	}
	r.AdvanceTo(2_002_000_000)
	if got := string(r.Received("S", "echo")); got != "from the real world" {
		t.Errorf("the socket got %q", got)
	}
}

func TestBridgeEndChecked(t *testing.T) {
	bad := `{"version": 1, "name": "x", "hosts": [{"name": "S", "nics": [{"name": "eth0", "mac": "02:00:00:00:00:0a", "addr": "192.0.2.10/24", "mtu": 1500}]}],
  "links": [{"name": "l0", "a": "S.eth0", "b": "bridge", "rate_bps": 1000}, {"name": "l1", "a": "S.eth0", "b": "bridge", "rate_bps": 1000}]}`
	if _, err := Parse([]byte(bad)); err == nil {
		t.Error("two links to the bridge accepted")
	}
}

// TestReplayLive: frames taken from outside and programs started while
// a run is live are recorded; the replay file, simulated offline, gives
// the live run's trace byte for byte, including a program and a frame
// in the same nanosecond.
func TestReplayLive(t *testing.T) {
	f, err := Parse([]byte(bridgeScenario))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	r.AdvanceTo(1_000_000_000)
	eth := &layers.Ethernet{SrcMAC: outside, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: outside, SourceProtAddress: []byte{192, 0, 2, 1},
		DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 0, 2, 10}}
	if err := r.Inject(frame(t, eth, arp)); err != nil {
		t.Fatal(err)
	}
	r.AdvanceTo(1_500_000_000)
	if err := r.AddProgram("S", Program{Name: "ping", Steps: []Step{{Op: "ping", To: "192.0.2.1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddProgram("S", Program{Name: "ping", Steps: []Step{{Op: "ping", To: "192.0.2.1"}}}); err == nil {
		t.Error("a second program named ping accepted")
	}
	if err := r.AddProgram("S", Program{Name: "bad", Steps: []Step{{Op: "ping", To: "nowhere"}}}); err == nil {
		t.Error("a ping to nowhere accepted")
	}
	r.AdvanceTo(1_600_000_000)
	var req *layers.ICMPv4
	var reqIP *layers.IPv4
	for _, o := range r.Bridge().Outbox() {
		p := gopacket.NewPacket(o, layers.LayerTypeEthernet, gopacket.Default)
		if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			req, reqIP = ic, p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		}
	}
	if req == nil {
		t.Fatal("no echo request went out")
	}
	// A program and the echo reply in the same nanosecond.
	if err := r.AddProgram("S", Program{Name: "udp", Steps: []Step{{Op: "socket", Type: "udp", As: "u"},
		{Op: "sendto", Sock: "u", To: "192.0.2.1:9", Data: "hi"}}}); err != nil {
		t.Fatal(err)
	}
	at := r.Now()
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 7, Protocol: layers.IPProtocolICMPv4, SrcIP: reqIP.DstIP, DstIP: reqIP.SrcIP}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: req.Id, Seq: req.Seq}
	eth = &layers.Ethernet{SrcMAC: outside, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x0a}, EthernetType: layers.EthernetTypeIPv4}
	if err := r.Inject(frame(t, eth, ip, icmp, gopacket.Payload(req.Payload))); err != nil {
		t.Fatal(err)
	}
	if r.Now() != at+1 {
		t.Errorf("a frame after a program in the same ns entered at %d, want %d", r.Now(), at+1)
	}
	r.AdvanceTo(1_700_000_000)
	if got := r.Received("S", "ping"); len(got) == 0 || got[0] != 0 {
		t.Fatalf("the ping program got %x, want an echo reply", got)
	}
	var live bytes.Buffer
	if err := r.Trace().WriteJSON(&live); err != nil {
		t.Fatal(err)
	}

	data, err := json.Marshal(r.Replay())
	if err != nil {
		t.Fatal(err)
	}
	rf, err := Parse(data)
	if err != nil {
		t.Fatalf("the replay file does not parse: %v", err)
	}
	if len(rf.Inject) != 2 || rf.Inject[1].To != BridgeEnd || len(rf.Hosts[0].Programs) != 3 || !rf.Hosts[0].Programs[2].Live {
		t.Fatalf("replay file: %d injects, programs %+v", len(rf.Inject), rf.Hosts[0].Programs)
	}
	rt, err := Simulate(rf)
	if err != nil {
		t.Fatal(err)
	}
	var replay bytes.Buffer
	if err := rt.WriteJSON(&replay); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(live.Bytes(), replay.Bytes()) {
		t.Errorf("the replay differs from the live run: %d vs %d bytes of trace", replay.Len(), live.Len())
	}
}
