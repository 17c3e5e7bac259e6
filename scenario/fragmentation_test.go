package scenario

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/ip4defrag"
	"github.com/google/gopacket/layers"

	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// wireIPv4 decodes every IPv4 frame on the wire, in order, with the event
// that carried it.
func wireIPv4(t *testing.T, tr *trace.Trace) ([]*layers.IPv4, []*trace.Event) {
	t.Helper()
	var ips []*layers.IPv4
	var evs []*trace.Event
	for i := range tr.Events {
		e := &tr.Events[i]
		if e.Kind != trace.Wire {
			continue
		}
		p := gopacket.NewPacket(e.Frame, layers.LayerTypeEthernet, gopacket.Default)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			ips = append(ips, ip)
			evs = append(evs, e)
		}
	}
	return ips, evs
}

// TestFragmentationWire: A's 4000-byte datagram leaves as three
// fragments with one ID, offsets 0, 1480 and 2960, MF on all but the
// last, no DF, valid header checksums; gopacket's defragmenter rebuilds
// the datagram, whose UDP checksum (sent in the first fragment) is right.
func TestFragmentationWire(t *testing.T) {
	tr := runLesson(t, "fragmentation")
	ips, _ := wireIPv4(t, tr)
	var frags []*layers.IPv4
	for _, ip := range ips {
		if ip.SrcIP.String() == "192.0.2.1" && ip.Protocol == layers.IPProtocolUDP {
			frags = append(frags, ip)
		}
	}
	if len(frags) != 3 {
		t.Fatalf("%d UDP packets from A on the wire, want 3 fragments (the second sendto must send nothing)", len(frags))
	}
	wantOff := []uint16{0, 185, 370}
	wantLen := []uint16{1500, 1500, 1068}
	for i, ip := range frags {
		mf := ip.Flags&layers.IPv4MoreFragments != 0
		if ip.FragOffset != wantOff[i] || mf != (i < 2) || ip.Flags&layers.IPv4DontFragment != 0 || ip.Length != wantLen[i] {
			t.Errorf("fragment %d: offset %d×8 flags %v tot_len %d; want offset %d×8, MF %v, no DF, tot_len %d",
				i, ip.FragOffset, ip.Flags, ip.Length, wantOff[i], i < 2, wantLen[i])
		}
		if ip.Id != frags[0].Id {
			t.Errorf("fragment %d has id %d, the first %d", i, ip.Id, frags[0].Id)
		}
		if raw := append(append([]byte(nil), ip.Contents...), ip.Payload...); !header.IPv4(raw).ChecksumValid() {
			t.Errorf("fragment %d: bad header checksum 0x%04x", i, ip.Checksum)
		}
	}
	d := ip4defrag.NewIPv4Defragmenter()
	var whole *layers.IPv4
	for i, ip := range frags {
		out, err := d.DefragIPv4(ip)
		if err != nil {
			t.Fatalf("ip4defrag: fragment %d: %v", i, err)
		}
		if out != nil && i < 2 {
			t.Fatalf("ip4defrag finished after fragment %d", i)
		}
		whole = out
	}
	if whole == nil {
		t.Fatal("ip4defrag did not reassemble the fragments")
	}
	seg := whole.Payload
	if len(seg) != 4008 || int(binary.BigEndian.Uint16(seg[4:6])) != 4008 || binary.BigEndian.Uint16(seg[2:4]) != 9000 {
		t.Fatalf("reassembled %d bytes, UDP len %d, port %d", len(seg), binary.BigEndian.Uint16(seg[4:6]), binary.BigEndian.Uint16(seg[2:4]))
	}
	if !bytes.Equal(seg[8:], payload(Step{Size: 4000})) {
		t.Error("the reassembled payload is not what A sent")
	}
	src, dst := ipA, ipB
	if header.Fold(header.Sum(header.PseudoSum(src, dst, header.ProtoUDP, len(seg)), seg)) != 0xffff {
		t.Errorf("UDP checksum 0x%04x does not verify over the whole datagram", binary.BigEndian.Uint16(seg[6:8]))
	}
}

// TestFragmentationReceive: B's recvfrom gets the 4000 bytes, in one
// datagram, and the path on B goes ip_defrag → ip_frag_reasm → udp_rcv;
// A's second sendto, with IP_PMTUDISC_DO, returns -EMSGSIZE.
func TestFragmentationReceive(t *testing.T) {
	f, err := Load("fragmentation")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	for !r.Step(1 << 20) {
	}
	if got, want := r.Received("B", "receiver"), payload(Step{Size: 4000}); !bytes.Equal(got, want) {
		t.Errorf("B received %d bytes, want the %d A sent", len(got), len(want))
	}
	tr := runLesson(t, "fragmentation")
	if got := sendtoRets(tr, "A"); !slices.Equal(got, []string{"4000", "-EMSGSIZE"}) {
		t.Errorf("sendto returned %v, want [4000 -EMSGSIZE]", got)
	}
	var rets []string
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Ret && (e.Fn == "ip_defrag" || e.Fn == "ip_frag_reasm" || e.Fn == "__sys_recvfrom") {
			rets = append(rets, e.Fn+"="+e.Ret)
		}
	}
	want := []string{"ip_defrag=-EINPROGRESS", "ip_defrag=-EINPROGRESS", "ip_frag_reasm=0", "ip_defrag=0", "__sys_recvfrom=4000", "ip_defrag=-EINPROGRESS"}
	if !slices.Equal(rets, want) {
		t.Errorf("B: %v\nwant %v", rets, want)
	}
	// The reassembled skb carries the other two on its frag_list.
	for _, e := range tr.Events {
		if e.Kind == trace.Ret && e.Fn == "ip_frag_reasm" {
			sn := tr.Snaps[e.Snap[0]]
			if len(sn.FragList) != 2 || sn.Len != 4028 || sn.DataLen != 2528 {
				t.Errorf("reassembled skb: len %d data_len %d frag_list %v", sn.Len, sn.DataLen, sn.FragList)
			}
		}
	}
}

// TestFragmentationExpire: C's lone first fragment waits ipfrag_time
// (30 s); ip_expire then sends C an ICMP time exceeded, code 1, quoting
// the fragment, and drops it with SKB_DROP_REASON_FRAG_REASM_TIMEOUT.
func TestFragmentationExpire(t *testing.T) {
	tr := runLesson(t, "fragmentation")
	ips, evs := wireIPv4(t, tr)
	var icmp *layers.IPv4
	var at int64
	for i, ip := range ips {
		if ip.Protocol == layers.IPProtocolICMPv4 && ip.DstIP.String() == "192.0.2.3" {
			icmp, at = ip, evs[i].T
		}
	}
	if icmp == nil {
		t.Fatal("no ICMP to 192.0.2.3 on the wire")
	}
	if at < 30_002_000_000 || at > 30_100_000_000 {
		t.Errorf("ICMP at %d ns, want 30 s after the fragment (2 ms)", at)
	}
	p := gopacket.NewPacket(icmp.Payload, layers.LayerTypeICMPv4, gopacket.Default)
	ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic == nil || ic.TypeCode.Type() != 11 || ic.TypeCode.Code() != 1 {
		t.Fatalf("ICMP %v, want time exceeded (11), fragment reassembly time exceeded (1)", ic)
	}
	if header.Fold(header.Sum(0, icmp.Payload)) != 0xffff {
		t.Error("bad ICMP checksum")
	}
	quoted := header.IPv4(ic.Payload)
	if len(quoted) < header.IPv4MinLen || quoted.ID() != 4660 || quoted.Src() != netipC || quoted.FragOff() != header.IPv4MF {
		t.Errorf("quoted header %x, want C's first fragment (id 4660, MF)", ic.Payload)
	}
	var reasons []string
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Drop {
			reasons = append(reasons, e.Reason)
		}
	}
	if !slices.Equal(reasons, []string{"SKB_DROP_REASON_FRAG_REASM_TIMEOUT"}) {
		t.Errorf("B's drops: %v, want one FRAG_REASM_TIMEOUT", reasons)
	}
}

var netipC = ipA.Next().Next()

// fragment is an IPv4 fragment from A to B: id, byte offset (a multiple
// of 8), MF, and its data.
func fragment(id uint16, off int, mf bool, data []byte) []byte {
	p := make([]byte, header.IPv4MinLen+len(data))
	fo := uint16(off >> 3)
	if mf {
		fo |= header.IPv4MF
	}
	h := header.IPv4(p)
	h.Encode(0, id, fo, 64, header.ProtoUDP, ipA, ipB)
	h.SetTotalLen(len(p))
	h.SetChecksum()
	copy(p[header.IPv4MinLen:], data)
	return eth(header.EtherTypeIPv4, p)
}

// injectFrames runs udp-sendto's world (B bound to port 9000) with the
// frames arriving at B 10 µs apart, for long enough for ip_expire.
func injectFrames(t *testing.T, frames [][]byte) *trace.Trace {
	t.Helper()
	f, err := Load("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	f.Inject = nil
	for i, fr := range frames {
		f.Inject = append(f.Inject, Inject{AtNs: 500 + int64(i)*10_000, To: "B.eth0", Frame: hex.EncodeToString(fr)})
	}
	f.UntilNs = 31_000_000_000
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// udpDatagram is a UDP datagram from A's port 1234 to B's 9000 with a
// correct checksum.
func udpDatagram(n int) []byte {
	d := make([]byte, header.UDPLen+n)
	header.UDP(d).Encode(1234, 9000, len(d))
	for i := range n {
		d[header.UDPLen+i] = byte(i)
	}
	header.UDP(d).SetChecksum(header.TransportChecksum(ipA, ipB, header.ProtoUDP, d))
	return d
}

// dropReasons lists B's drops and ip_defrag's returns.
func defragOutcome(tr *trace.Trace) (drops, rets []string) {
	for _, e := range tr.Events {
		if e.Host != "B" {
			continue
		}
		if e.Kind == trace.Drop {
			drops = append(drops, e.Reason)
		}
		if e.Kind == trace.Ret && e.Fn == "ip_defrag" {
			rets = append(rets, e.Ret)
		}
	}
	return
}

// TestDefragOutOfOrder: fragments in reverse order are reassembled and
// delivered; nothing is dropped.
func TestDefragOutOfOrder(t *testing.T) {
	d := udpDatagram(40) // 48 bytes: fragments of 16
	tr := injectFrames(t, [][]byte{fragment(7, 32, false, d[32:]), fragment(7, 16, true, d[16:32]), fragment(7, 0, true, d[:16])})
	drops, rets := defragOutcome(tr)
	if len(drops) != 0 || !slices.Equal(rets, []string{"-EINPROGRESS", "-EINPROGRESS", "0"}) {
		t.Errorf("drops %v, ip_defrag %v", drops, rets)
	}
	if retOfFn(tr, "B", "__udp_enqueue_schedule_skb") == nil {
		t.Error("the reassembled datagram never reached the socket")
	}
}

// TestDefragOverlapAndDup: an exact duplicate is dropped alone
// (DUP_FRAG); an overlap kills the whole queue, as Linux does since
// RFC 5722: the new fragment is dropped and the queued ones freed.
func TestDefragOverlapAndDup(t *testing.T) {
	d := udpDatagram(40)
	tr := injectFrames(t, [][]byte{fragment(8, 0, true, d[:16]), fragment(8, 0, true, d[:16]),
		fragment(8, 8, true, d[8:24]), fragment(8, 32, false, d[32:])})
	drops, rets := defragOutcome(tr)
	// The last fragment then starts a new queue, without a first
	// fragment: after 30 s it is dropped, and no ICMP error is sent.
	wantDrops := []string{"SKB_DROP_REASON_DUP_FRAG", "SKB_DROP_REASON_NOT_SPECIFIED", "SKB_DROP_REASON_FRAG_REASM_TIMEOUT"}
	if !slices.Equal(drops, wantDrops) || !slices.Equal(rets, []string{"-EINPROGRESS", "-EINVAL", "-EINVAL", "-EINPROGRESS"}) {
		t.Errorf("drops %v (want %v), ip_defrag %v", drops, wantDrops, rets)
	}
	if e := retOfFn(tr, "B", "__icmp_send"); e != nil {
		t.Errorf("an ICMP error was sent: %v", e)
	}
}

// TestPingFragmented: ping -s 4000 builds its echo request on the write
// queue as three fragment-sized skbs (ip_append_data), B reassembles it,
// answers with a reply as large, fragmented the same way, and A's ping
// socket receives all 4008 bytes.
func TestPingFragmented(t *testing.T) {
	f, err := Load("ping")
	if err != nil {
		t.Fatal(err)
	}
	f.Hosts[0].Programs[0].Steps[0].Size = 4000
	f.Hosts[0].Programs[0].Steps[0].Count = 1
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	ips, _ := wireIPv4(t, tr)
	var fromA, fromB int
	for _, ip := range ips {
		if ip.Protocol != layers.IPProtocolICMPv4 || ip.Flags&layers.IPv4DontFragment != 0 {
			continue
		}
		if ip.SrcIP.String() == "192.0.2.1" {
			fromA++
		} else {
			fromB++
		}
	}
	if fromA != 3 || fromB != 3 {
		t.Errorf("%d fragments of the request, %d of the reply; want 3 and 3", fromA, fromB)
	}
	var rets []string
	for _, e := range tr.Events {
		if e.Kind == trace.Ret && (e.Fn == "ping_recvmsg" || e.Fn == "ip_frag_reasm") {
			rets = append(rets, e.Host+":"+e.Fn+"="+e.Ret)
		}
	}
	if want := []string{"B:ip_frag_reasm=0", "A:ip_frag_reasm=0", "A:ping_recvmsg=4008"}; !slices.Equal(rets, want) {
		t.Errorf("%v, want %v", rets, want)
	}
}

// TestFragmentationKnobs: the lesson under the what-if knobs that touch
// fragmentation (a smaller MTU, the slow chips with their flow control,
// a tiny send buffer, loss) runs, and leaves no skb behind.
func TestFragmentationKnobs(t *testing.T) {
	for _, k := range []Knobs{{MTU: 576}, {MTU: 9000}, {Model: "cs89x0"}, {Model: "dm9000"}, {SndBuf: 4608}, {LossPct: 30}, {TxQueueLen: 1}} {
		tr, err := RunWith("fragmentation", k)
		if err != nil {
			t.Fatalf("%+v: %v", k, err)
		}
		live, _ := liveSkbs(tr)
		for id, q := range live {
			if q == "" {
				t.Errorf("%+v: skb %d is neither freed nor queued", k, id)
			}
		}
		if k.MTU == 576 {
			ips, _ := wireIPv4(t, tr)
			n := 0
			for _, ip := range ips {
				if ip.SrcIP.String() == "192.0.2.1" && ip.Protocol == layers.IPProtocolUDP {
					n++
				}
			}
			if n != 8 { // 4008 bytes in pieces of 552
				t.Errorf("mtu 576: %d fragments, want 8", n)
			}
		}
		t.Logf("%+v: sendto %v", k, sendtoRets(tr, "A"))
	}
}
