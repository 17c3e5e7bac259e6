package scenario

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket/ip4defrag"
	"github.com/google/gopacket/layers"

	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// TestIPForwardSlowPath: R forwards A's 1428-byte datagram (no DF) onto
// eth1, MTU 1000, through ip_do_fragment's slow path: ip_frag_init, then
// ip_frag_next and ip_frag_ipcb per fragment (ip_options_fragment after
// the first), the original consumed at the end. On lan1: two fragments
// with A's IP ID, TTL 63, offsets 0 and 976, MF on the first, tot_len
// 996 and 452, valid header checksums; they reassemble into A's
// datagram with a valid UDP checksum, and C's recvfrom returns 1400.
func TestIPForwardSlowPath(t *testing.T) {
	tr := runLesson(t, "ip-forward")
	var calls []string
	start := -1
	for i := range tr.Events {
		e := &tr.Events[i]
		if e.Host != "R" || e.Kind != trace.Call {
			continue
		}
		if e.Fn == "ip_do_fragment" && start < 0 {
			start = i
			if fns := stackFns(tr, i); !slices.Contains(fns, "ip_forward") || !strings.HasPrefix(e.Ctx, "softirq:NET_RX") {
				t.Errorf("ip_do_fragment in %s under %v: want NET_RX, below ip_forward", e.Ctx, fns)
			}
		}
		switch e.Fn {
		case "ip_frag_init", "ip_frag_next", "ip_frag_ipcb", "ip_options_fragment", "ip_fraglist_init":
			calls = append(calls, e.Fn)
		}
	}
	want := []string{"ip_frag_init", "ip_frag_next", "ip_frag_ipcb", "ip_options_fragment", "ip_frag_next", "ip_frag_ipcb"}
	if !slices.Equal(calls, want) {
		t.Errorf("R's fragmentation calls %v, want %v", calls, want)
	}
	// the original is consumed inside ip_do_fragment, after the fragments
	end := firstEvent(tr, start, func(e *trace.Event) bool { return e.Host == "R" && e.Kind == trace.Ret && e.Fn == "ip_do_fragment" })
	orig := tr.Events[start].Skb[0]
	consumed := false
	for i := start; i < end; i++ {
		if e := &tr.Events[i]; e.Kind == trace.Free && hasSkb(e, orig) {
			consumed = true
		}
	}
	if !consumed {
		t.Errorf("skb %d not consumed by ip_do_fragment", orig)
	}
	var sent, frags []*layers.IPv4
	ips, evs := wireIPv4(t, tr)
	for i, ip := range ips {
		if ip.Protocol != layers.IPProtocolUDP {
			continue
		}
		switch evs[i].Wire {
		case "lan0":
			sent = append(sent, ip)
		case "lan1":
			frags = append(frags, ip)
		}
	}
	if len(sent) != 2 || len(frags) != 2 {
		t.Fatalf("%d UDP packets on lan0, %d on lan1; want A's two datagrams and two fragments", len(sent), len(frags))
	}
	if sent[0].Flags&layers.IPv4DontFragment != 0 || sent[1].Flags&layers.IPv4DontFragment == 0 {
		t.Errorf("A's datagrams: flags %v and %v, want no DF then DF", sent[0].Flags, sent[1].Flags)
	}
	wantOff, wantLen := []uint16{0, 122}, []uint16{996, 452}
	for i, ip := range frags {
		mf := ip.Flags&layers.IPv4MoreFragments != 0
		if ip.FragOffset != wantOff[i] || mf != (i == 0) || ip.Length != wantLen[i] || ip.Id != sent[0].Id || ip.TTL != sent[0].TTL-1 {
			t.Errorf("fragment %d: offset %d×8, flags %v, tot_len %d, id %d, ttl %d; want offset %d×8, MF %v, tot_len %d, id %d, ttl %d",
				i, ip.FragOffset, ip.Flags, ip.Length, ip.Id, ip.TTL, wantOff[i], i == 0, wantLen[i], sent[0].Id, sent[0].TTL-1)
		}
		if raw := append(append([]byte(nil), ip.Contents...), ip.Payload...); !header.IPv4(raw).ChecksumValid() {
			t.Errorf("fragment %d: bad header checksum", i)
		}
	}
	d := ip4defrag.NewIPv4Defragmenter()
	var whole *layers.IPv4
	for _, ip := range frags {
		out, err := d.DefragIPv4(ip)
		if err != nil {
			t.Fatal(err)
		}
		whole = out
	}
	if whole == nil || !bytes.Equal(whole.Payload, sent[0].Payload) {
		t.Fatal("the fragments do not reassemble into A's datagram")
	}
	seg := whole.Payload
	if header.Fold(header.Sum(header.PseudoSum(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2"), header.ProtoUDP, len(seg)), seg)) != 0xffff {
		t.Error("the reassembled UDP checksum does not verify")
	}
	var recv []string
	for _, e := range tr.Events {
		if e.Host == "C" && e.Kind == trace.Ret && e.Fn == "__sys_recvfrom" {
			recv = append(recv, e.Ret)
		}
	}
	if !slices.Equal(recv, []string{"1400"}) || !slices.Equal(sendtoRets(tr, "A"), []string{"1400", "1400"}) {
		t.Errorf("C's recvfrom %v, A's sendto %v", recv, sendtoRets(tr, "A"))
	}
	live, _ := liveSkbs(tr)
	for id, q := range live {
		if q == "" {
			t.Errorf("skb %d is neither freed nor queued", id)
		}
	}
}

// TestIPForwardDF: A's second datagram carries DF and is too big for
// eth1: R's ip_forward sends A an ICMP fragmentation needed with MTU
// 1000 and drops it with SKB_DROP_REASON_PKT_TOO_BIG; nothing of it
// reaches lan1.
func TestIPForwardDF(t *testing.T) {
	tr := runLesson(t, "ip-forward")
	drop := -1
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Host == "R" && e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_PKT_TOO_BIG" {
			drop = i
			if fns := stackFns(tr, i); !slices.Contains(fns, "ip_forward") {
				t.Errorf("PKT_TOO_BIG drop under %v", fns)
			}
		}
	}
	if drop < 0 {
		t.Fatal("no PKT_TOO_BIG drop on R")
	}
	ips, evs := wireIPv4(t, tr)
	found := false
	for i, ip := range ips {
		if evs[i].Wire == "lan0" && ip.Protocol == layers.IPProtocolICMPv4 && ip.SrcIP.String() == "192.0.2.254" {
			ic := ip.Payload
			if ic[0] != 3 || ic[1] != 4 || binary.BigEndian.Uint16(ic[6:8]) != 1000 || !header.ICMP(ic).ChecksumValid() {
				t.Errorf("ICMP from R: type %d code %d mtu %d", ic[0], ic[1], binary.BigEndian.Uint16(ic[6:8]))
			}
			found = true
		}
	}
	if !found {
		t.Error("no ICMP fragmentation needed from R to A")
	}
}

// TestIPForwardWireshark: tshark, checksums checked, reads lan1's two
// fragments, reassembles them into one UDP datagram of 1408 bytes with a
// good checksum, and finds nothing to warn about.
func TestIPForwardWireshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (make test installs it): the Wireshark check did not run")
	}
	tr := runLesson(t, "ip-forward")
	path := filepath.Join(t.TempDir(), "lan1.pcap")
	var b bytes.Buffer
	if err := tr.WritePcap(&b, "lan1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := []string{"-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.defragment:TRUE"}
	out, err := exec.Command(tshark, append(opts, "-Y", "udp", "-T", "fields", "-e", "udp.length", "-e", "udp.checksum.status", "-e", "ip.fragment.count")...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if f := strings.Fields(string(out)); !slices.Equal(f, []string{"1408", "1", "2"}) {
		t.Errorf("tshark reads %q; want one reassembled UDP datagram of 1408 bytes, checksum good (1), from 2 fragments", out)
	}
	bad, err := exec.Command(tshark, append(opts, "-Y", "_ws.expert.severity >= warning || _ws.malformed || ip.checksum.status == 0")...).Output()
	if err != nil || len(bytes.TrimSpace(bad)) != 0 {
		t.Errorf("tshark finds problems: %v\n%s", err, bad)
	}
}
