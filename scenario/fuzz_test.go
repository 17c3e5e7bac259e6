package scenario

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"testing"

	"skbscope/stack/header"
)

// The wire parsers are fuzzed where they run: a frame is injected into
// host B's NIC in the udp-sendto world (B has a bound UDP socket; A
// sends too), and the whole receive path must take it without panicking.
// Each target keeps the layers below the one it fuzzes valid, so the
// fuzzer spends its time in that layer's parser.

func injectFrame(t *testing.T, frame []byte) {
	f, err := Load("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	f.Inject = []Inject{{AtNs: 500, To: "B.eth0", Frame: hex.EncodeToString(frame)}}
	f.UntilNs = 50_000_000
	if _, err := Simulate(f); err != nil {
		t.Fatal(err)
	}
}

var (
	macA = header.MAC{2, 0, 0, 0, 0, 0x0a}
	macB = header.MAC{2, 0, 0, 0, 0, 0x0b}
	ipA  = netip.MustParseAddr("192.0.2.1")
	ipB  = netip.MustParseAddr("192.0.2.2")
)

func eth(etherType uint16, body []byte) []byte {
	f := make([]byte, header.EthernetLen+len(body))
	header.Ethernet(f).Encode(macB, macA, etherType)
	copy(f[header.EthernetLen:], body)
	return f
}

// ipPacket wraps body in a valid IPv4 header for proto.
func ipPacket(proto uint8, body []byte) []byte {
	p := make([]byte, header.IPv4MinLen+len(body))
	h := header.IPv4(p)
	h.Encode(0, 1, 0, 64, proto, ipA, ipB)
	h.SetTotalLen(len(p))
	h.SetChecksum()
	copy(p[header.IPv4MinLen:], body)
	return p
}

func FuzzEthernet(f *testing.F) {
	f.Add(eth(header.EtherTypeIPv4, ipPacket(header.ProtoUDP, []byte{0x30, 0x39, 0x23, 0x28, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'})))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) { injectFrame(t, frame) })
}

func FuzzARP(f *testing.F) {
	a := make([]byte, header.ARPLen)
	header.ARP(a).Encode(header.ARPRequest, macA, ipA, header.MAC{}, ipB)
	f.Add(a)
	f.Fuzz(func(t *testing.T, body []byte) { injectFrame(t, eth(header.EtherTypeARP, body)) })
}

func FuzzIPv4(f *testing.F) {
	f.Add(ipPacket(header.ProtoICMP, []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0}))
	f.Add([]byte{0x45})
	f.Fuzz(func(t *testing.T, packet []byte) { injectFrame(t, eth(header.EtherTypeIPv4, packet)) })
}

func FuzzICMP(f *testing.F) {
	f.Add([]byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0})
	f.Add(append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, ipPacket(header.ProtoUDP, []byte{1, 2, 3, 4, 0, 8, 0, 0})...))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) >= header.ICMPLen && len(msg)%2 == 0 {
			header.ICMP(msg).SetChecksum() // reach past the checksum test too
		}
		injectFrame(t, eth(header.EtherTypeIPv4, ipPacket(header.ProtoICMP, msg)))
	})
}

func FuzzUDP(f *testing.F) {
	f.Add([]byte{0x30, 0x39, 0x23, 0x28, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'})
	f.Fuzz(func(t *testing.T, dgram []byte) {
		injectFrame(t, eth(header.EtherTypeIPv4, ipPacket(header.ProtoUDP, dgram)))
	})
}

// TestInjectedFrames: a few hand-made bad frames are dropped with the
// right reasons, and a good datagram from outside reaches the socket.
func TestInjectedFrames(t *testing.T) {
	f, _ := Load("udp-sendto")
	bad := ipPacket(header.ProtoUDP, []byte{0x30, 0x39, 0x23, 0x28, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'})
	bad[10] ^= 0xff // break the IP header checksum
	good := ipPacket(header.ProtoUDP, []byte{0x30, 0x39, 0x23, 0x28, 0, 13, 0, 0, 'w', 'o', 'r', 'l', 'd'})
	u := header.UDP(good[header.IPv4MinLen:])
	u.SetChecksum(header.TransportChecksum(ipA, ipB, header.ProtoUDP, good[header.IPv4MinLen:]))
	f.Inject = []Inject{
		{AtNs: 100, To: "B.eth0", Frame: hex.EncodeToString(eth(header.EtherTypeIPv4, bad))},
		{AtNs: 200, To: "B.eth0", Frame: hex.EncodeToString(eth(0x86dd, []byte{0x60}))},
		{AtNs: 300, To: "B.eth0", Frame: hex.EncodeToString(eth(header.EtherTypeIPv4, good))},
	}
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range tr.Events {
		if e.Kind == "drop" {
			reasons[e.Reason] = true
		}
	}
	for _, r := range []string{"SKB_DROP_REASON_IP_CSUM", "SKB_DROP_REASON_UNHANDLED_PROTO"} {
		if !reasons[r] {
			t.Errorf("no drop with %s; drops: %v", r, reasons)
		}
	}
	queued := 0
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == "enqueue" && e.Queue == "sk1 sk_receive_queue" {
			queued++
		}
	}
	if queued != 2 {
		t.Errorf("%d datagrams reached B's socket, want the injected one and A's", queued)
	}
}

// FuzzIPDefrag sends B a run of hostile fragments built from the input,
// five bytes each: an IP ID (of three), a 13-bit offset (up to 65528),
// MF and DF, and a length in 4-byte steps (so also odd and zero ones).
// Overlaps, duplicates, data past 64 KiB and different ends must be
// handled without a panic, and every skb freed or queued in the end.
func FuzzIPDefrag(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 4, 0, 0, 2, 0, 2})
	f.Add([]byte{1, 0xff, 0xff, 0, 255, 1, 0, 0, 1, 3, 1, 0, 1, 1, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		var frames [][]byte
		for ; len(in) >= 5 && len(frames) < 40; in = in[5:] {
			off := int(binary.BigEndian.Uint16(in[1:3])&header.IPv4Offset) << 3
			data := make([]byte, int(in[4])*4)
			fr := fragment(uint16(in[0]%3), off, in[3]&1 != 0, data)
			if in[3]&2 != 0 {
				ip := header.IPv4(fr[header.EthernetLen:])
				ip.SetFragOff(ip.FragOff() | header.IPv4DF)
				ip.SetChecksum()
			}
			frames = append(frames, fr)
		}
		tr := injectFrames(t, frames)
		live, _ := liveSkbs(tr)
		for id, q := range live {
			if q == "" {
				t.Errorf("skb %d is neither freed nor queued", id)
			}
		}
	})
}
