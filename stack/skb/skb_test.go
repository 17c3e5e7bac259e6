package skb

import (
	"testing"

	"skbscope/stack/header"
)

func TestBufferArithmetic(t *testing.T) {
	s := New(1, 64)
	// 64 bytes + skb_shared_info round to kmalloc-512; end is what is left.
	if s.EndOff() != 512-SharedInfoSize || s.Headroom() != 0 || s.Tailroom() != s.EndOff() {
		t.Fatalf("new skb: end %d headroom %d tailroom %d", s.EndOff(), s.Headroom(), s.Tailroom())
	}
	if err := s.Reserve(16); err != nil {
		t.Fatal(err)
	}
	b, err := s.PutBytes(33)
	if err != nil || len(b) != 33 || s.Len() != 33 || s.DataOff() != 16 || s.TailOff() != 49 {
		t.Fatalf("put: %v len %d data %d tail %d", err, s.Len(), s.DataOff(), s.TailOff())
	}
	if err := s.Reserve(1); err == nil {
		t.Error("skb_reserve on a non-empty skb succeeded")
	}
	h, err := s.Push(14)
	if err != nil || len(h) != 14 || s.Headroom() != 2 || s.Len() != 47 {
		t.Fatalf("push: %v headroom %d len %d", err, s.Headroom(), s.Len())
	}
	if _, err := s.Push(3); err == nil {
		t.Error("push past head succeeded (skb_under_panic)")
	}
	if _, err := s.PutBytes(s.Tailroom() + 1); err == nil {
		t.Error("put past end succeeded (skb_over_panic)")
	}
	if err := s.Pull(14); err != nil || s.Len() != 33 {
		t.Fatalf("pull: %v len %d", err, s.Len())
	}
	if err := s.Pull(34); err == nil || s.Len() != 33 {
		t.Error("pull beyond len succeeded or changed the skb")
	}
}

func TestCloneSharesData(t *testing.T) {
	s := New(1, 100)
	_ = s.Reserve(16)
	b, _ := s.PutBytes(4)
	copy(b, "abcd")
	c := s.Clone(2)
	if !s.Cloned() || !c.Cloned() || s.Dataref() != 2 || c.Users() != 1 || s.Users() != 1 {
		t.Fatalf("after clone: cloned %v/%v dataref %d users %d/%d", s.Cloned(), c.Cloned(), s.Dataref(), s.Users(), c.Users())
	}
	s.Data()[0] = 'X'
	if c.Data()[0] != 'X' {
		t.Error("clone does not share the buffer")
	}
	if _, err := c.Push(2); err != nil || s.Len() != 4 {
		t.Error("the clone's pointers are not its own")
	}
	c.Get()
	if c.Put() || !c.Put() {
		t.Error("skb_get/kfree_skb refcounting")
	}
	c.ReleaseData()
	if s.Cloned() {
		t.Error("the original still counts as cloned after the clone released the data")
	}
}

func TestSnapshotMatches(t *testing.T) {
	s := New(1, 100)
	_ = s.Reserve(16)
	_, _ = s.PutBytes(28)
	s.SetNetworkHeader(0)
	sn := s.Snapshot()
	if !s.Matches(&sn) {
		t.Fatal("a fresh snapshot does not match")
	}
	s.Data()[3] = 1
	if s.Matches(&sn) {
		t.Error("a changed byte still matches")
	}
	sn = s.Snapshot()
	s.InetSkbParm().SetIif(2)
	if s.Matches(&sn) {
		t.Error("a changed cb still matches")
	}
}

func TestRegions(t *testing.T) {
	buf := make([]byte, 16+14+20+8+5)
	header.Ethernet(buf[16:]).Encode(header.MAC{2}, header.MAC{3}, header.EtherTypeIPv4)
	ip := header.IPv4(buf[30:])
	ip.Encode(0, 1, 0, 64, header.ProtoUDP, mustAddr("192.0.2.1"), mustAddr("192.0.2.2"))
	ip.SetTotalLen(33)
	ip.SetChecksum()
	if !ip.ChecksumValid() {
		t.Fatal("IPv4 checksum does not verify")
	}
	rs := Regions(buf, 16, 30, 50)
	var layers []string
	for _, r := range rs {
		layers = append(layers, r.Layer)
	}
	if got := len(rs); got != 4 || layers[0] != "eth" || layers[1] != "ip" || layers[2] != "udp" || layers[3] != "payload" || rs[3].Len != 5 {
		t.Fatalf("regions %v", rs)
	}
}

// FuzzRegions: decoding headers at any offsets over any bytes never panics.
func FuzzRegions(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 20}, 0, 0, 20)
	f.Fuzz(func(t *testing.T, buf []byte, mac, network, transport int) {
		_ = Regions(buf, mac, network, transport)
	})
}
