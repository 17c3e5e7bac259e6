package core

import (
	"encoding/binary"
	"testing"
)

// TestSiphashVectors: the SipHash-2-4 reference vectors (key 00..0f,
// message 00..len-1), which lib/siphash's self-test checks too.
func TestSiphashVectors(t *testing.T) {
	key := SiphashKey{0x0706050403020100, 0x0f0e0d0c0b0a0908}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, c := range []struct {
		n    int
		want uint64
	}{{0, 0x726fdb47dd0e0e31}, {15, 0xa129ca6149be45e5}, {63, 0x958a324ceb064572}} {
		if got := Siphash(msg[:c.n], key); got != c.want {
			t.Errorf("siphash of %d bytes = %#x, want %#x", c.n, got, c.want)
		}
	}
}

// TestFlowHashFromKeysKnown: flow hashes for known IPv4 keys with the
// reference key, as computed by a C program over struct flow_keys laid
// out by gcc for x86-64; the reverse direction hashes alike, a
// fragment hashes without ports.
func TestFlowHashFromKeysKnown(t *testing.T) {
	key := SiphashKey{0x0706050403020100, 0x0f0e0d0c0b0a0908}
	mk := func(proto uint8, src, dst byte, sport, dport uint16, flags uint32) FlowKeys {
		f := FlowKeys{AddrType: flowDissectorKeyIPv4Addrs, NProto: 0x0800, IPProto: proto, Flags: flags,
			Src: [4]byte{192, 0, 2, src}, Dst: [4]byte{192, 0, 2, dst}}
		binary.BigEndian.PutUint16(f.Ports[:2], sport)
		binary.BigEndian.PutUint16(f.Ports[2:], dport)
		return f
	}
	for _, c := range []struct {
		name string
		f    FlowKeys
		want uint32
	}{
		{"udp 40000→9000", mk(17, 1, 2, 40000, 9000, 0), 0x130b708f},
		{"udp 40001→9001", mk(17, 1, 2, 40001, 9001, 0), 0xafcabb7a},
		{"udp reply 9000→40000", mk(17, 2, 1, 9000, 40000, 0), 0x130b708f},
		{"icmp", mk(1, 1, 2, 0, 0, 0), 0xbcc80e5f},
		{"udp fragment", mk(17, 1, 2, 0, 0, flowDisIsFragment), 0xab4f9538},
		{"tcp 50000→80", mk(6, 1, 2, 50000, 80, 0), 0xec6cd10c},
	} {
		if got := FlowHashFromKeys(c.f, key); got != c.want {
			t.Errorf("%s: hash %#08x, want %#08x", c.name, got, c.want)
		}
	}
}
