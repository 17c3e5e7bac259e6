package scenario

import (
	"slices"
	"strings"
	"testing"

	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// firstEvent returns the index of the first event at or after from that
// matches, or -1.
func firstEvent(tr *trace.Trace, from int, match func(*trace.Event) bool) int {
	for i := from; i < len(tr.Events); i++ {
		if match(&tr.Events[i]) {
			return i
		}
	}
	return -1
}

func hasSkb(e *trace.Event, id int) bool { return slices.Contains(e.Skb, id) }

// TestARPParksAndDrains: the first datagram waits on arp_queue while
// sendto returns, and leaves from the NET_RX softirq that handled the
// ARP reply.
func TestARPParksAndDrains(t *testing.T) {
	tr := runLesson(t, "arp")
	park := firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Enqueue && e.Queue == "arp_queue 192.0.2.2"
	})
	if park < 0 {
		t.Fatal("nothing parked on arp_queue")
	}
	id := tr.Events[park].Skb[0]
	if ctx := tr.Events[park].Ctx; ctx != "task:sender[101]" {
		t.Errorf("parked in %s", ctx)
	}
	if !slices.ContainsFunc(stackFns(tr, park), func(f string) bool { return f == "__neigh_event_send" }) {
		t.Errorf("parked outside __neigh_event_send: %v", stackFns(tr, park))
	}
	ret := firstEvent(tr, park, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "__sys_sendto" })
	if ret < 0 || tr.Events[ret].Ret != "5" {
		t.Fatal("sendto did not return 5 while the skb was parked")
	}
	reply := firstEvent(tr, ret, func(e *trace.Event) bool { return e.Host == "A" && e.Kind == trace.Call && e.Fn == "arp_process" })
	drain := firstEvent(tr, reply, func(e *trace.Event) bool {
		return e.Kind == trace.Dequeue && e.Queue == "arp_queue 192.0.2.2" && hasSkb(e, id)
	})
	xmit := firstEvent(tr, drain, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "e1000_xmit_frame" && hasSkb(e, id) })
	if reply < 0 || drain < 0 || xmit < 0 {
		t.Fatalf("reply %d, drain %d, xmit %d", reply, drain, xmit)
	}
	for _, i := range []int{reply, drain, xmit} {
		if tr.Events[i].Ctx != "softirq:NET_RX" {
			t.Errorf("%s/%s in %s, want softirq:NET_RX", tr.Events[i].Kind, tr.Events[i].Fn, tr.Events[i].Ctx)
		}
	}
	if !slices.Contains(stackFns(tr, xmit), "__neigh_update") {
		t.Errorf("the parked skb is not sent from neigh_update: %v", stackFns(tr, xmit))
	}
	// B learned A's address from the request, as NUD_STALE.
	if firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "B" && strings.Contains(e.Note, "192.0.2.1 dev eth0: NUD_NONE → NUD_STALE")
	}) < 0 {
		t.Error("B did not learn A's address")
	}
	// The datagram arrives.
	if r := retOfFn(tr, "B", "__sys_recvfrom"); r == nil || r.Ret != "5" {
		t.Errorf("B's recvfrom returned %v", r)
	}
}

func stackFns(tr *trace.Trace, i int) []string {
	var fns []string
	for _, s := range tr.Stack(i) {
		fns = append(fns, tr.Events[s].Fn)
	}
	return fns
}

func retOfFn(tr *trace.Trace, host, fn string) *trace.Event {
	i := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Host == host && e.Kind == trace.Call && e.Fn == fn })
	if i < 0 {
		return nil
	}
	return retOf(tr, i)
}

// TestARPUnanswered: three broadcast requests a second apart, then
// NUD_FAILED, the parked skb dropped with NEIGH_FAILED, and an ICMP host
// unreachable to ourselves over lo.
func TestARPUnanswered(t *testing.T) {
	tr := runLesson(t, "arp-unanswered")
	var asks []int64
	for _, e := range tr.Events {
		if e.Kind == trace.Wire && e.Host == "A" && header.Ethernet(e.Frame).Type() == header.EtherTypeARP {
			asks = append(asks, e.T)
		}
	}
	if len(asks) != 3 {
		t.Fatalf("%d ARP requests, want 3 (ucast_probes 0 + mcast_probes 3)", len(asks))
	}
	for i := 1; i < 3; i++ {
		if d := asks[i] - asks[i-1]; d < 900_000_000 || d > 1_100_000_000 {
			t.Errorf("request %d came %d ns after the previous, want about 1 s", i+1, d)
		}
	}
	failed := firstEvent(tr, 0, func(e *trace.Event) bool { return strings.Contains(e.Note, "NUD_INCOMPLETE → NUD_FAILED") })
	drop := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_NEIGH_FAILED" })
	if failed < 0 || drop < failed || tr.Events[failed].T < asks[2] {
		t.Fatalf("failed at %d, drop at %d", failed, drop)
	}
	icmp := firstEvent(tr, failed, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "icmp_rcv" && e.Host == "A" })
	if icmp < 0 || tr.Events[icmp].Note != "destination unreachable, code 1" {
		t.Fatal("no ICMP host unreachable reached icmp_rcv")
	}
	if firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "loopback_xmit" }) < 0 {
		t.Error("the ICMP error did not go over lo")
	}
}

// TestPing: two echo requests answered by B's kernel from NET_RX, and
// recvfrom returning the 64-byte replies.
func TestPing(t *testing.T) {
	tr := runLesson(t, "ping")
	var replies, requests int
	for i, e := range tr.Events {
		switch {
		case e.Host == "B" && e.Kind == trace.Call && e.Fn == "icmp_reply":
			replies++
			if e.Ctx != "softirq:NET_RX" {
				t.Errorf("icmp_reply in %s", e.Ctx)
			}
		case e.Host == "A" && e.Kind == trace.Call && e.Fn == "__sys_recvfrom":
			if r := retOf(tr, i); r == nil || r.Ret != "64" {
				t.Errorf("recvfrom returned %v", r)
			}
		case e.Kind == trace.Wire && e.Host == "A":
			f := e.Frame
			ip := header.IPv4(f[header.EthernetLen:])
			if ip.Protocol() == header.ProtoICMP && header.ICMP(ip[ip.IHL():]).Type() == header.ICMPEcho {
				requests++
				if id := header.ICMP(ip[ip.IHL():]).ID(); id != 1 {
					t.Errorf("echo id %d, want ping_get_port's first identifier, 1", id)
				}
			}
		}
	}
	if replies != 2 || requests != 2 {
		t.Fatalf("%d requests, %d replies", requests, replies)
	}
	checkOrder(t, tr, "A", []want{
		{"ping_v4_sendmsg", "task:ping[101]"}, {"ip_append_data", "task:ping[101]"},
		{"ping_v4_push_pending_frames", "task:ping[101]"}, {"ip_push_pending_frames", "task:ping[101]"},
		{"icmp_rcv", "softirq:NET_RX"}, {"ping_rcv", "softirq:NET_RX"}, {"skb_clone", "softirq:NET_RX"},
		{"ping_recvmsg", "task:ping[101]"},
	})
}

// TestPortUnreachable: eight datagrams to a closed port, eight
// NO_SOCKET drops, and six ICMP errors: the per-peer burst.
func TestPortUnreachable(t *testing.T) {
	tr := runLesson(t, "udp-no-listener")
	drops, icmps := 0, 0
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_NO_SOCKET" {
			drops++
		}
		if e.Kind == trace.Wire && e.Host == "B" {
			ip := header.IPv4(e.Frame[header.EthernetLen:])
			ic := header.ICMP(ip[ip.IHL():])
			if ip.Protocol() == header.ProtoICMP && ic.Type() == header.ICMPDestUnreach && ic.Code() == header.ICMPPortUnreach {
				icmps++
				if ip.TOS() != 0xc0 {
					t.Errorf("ICMP error TOS %#x, want IPTOS_PREC_INTERNETCONTROL", ip.TOS())
				}
				inner := header.IPv4(ic[header.ICMPLen:])
				if inner.Dst().String() != "192.0.2.2" || header.UDP(inner[inner.IHL():]).DstPort() != 9999 {
					t.Error("the error does not quote the datagram")
				}
			}
		}
	}
	if drops != 8 || icmps != 6 {
		t.Fatalf("%d drops, %d ICMP errors; want 8 and 6", drops, icmps)
	}
	if firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "A" && e.Fn == "__udp4_lib_err" && strings.Contains(e.Note, "not connected")
	}) < 0 {
		t.Error("A's UDP did not consider the error")
	}
}

// TestLoopback: the receive path runs inside the client's sendto, from
// local_bh_enable at the end of __dev_queue_xmit, on the same CPU.
func TestLoopback(t *testing.T) {
	tr := runLesson(t, "loopback")
	checkOrder(t, tr, "A", []want{
		{"__sys_sendto", "task:client[102]"}, {"__dev_queue_xmit", "task:client[102]"},
		{"loopback_xmit", "task:client[102]"}, {"__netif_rx", "task:client[102]"},
		{"enqueue_to_backlog", "task:client[102]"}, {"__local_bh_enable_ip", "task:client[102]"},
		{"net_rx_action", "softirq:NET_RX"}, {"process_backlog", "softirq:NET_RX"},
		{"__netif_receive_skb", "softirq:NET_RX"}, {"ip_rcv", "softirq:NET_RX"},
		{"udp_rcv", "softirq:NET_RX"}, {"__udp_enqueue_schedule_skb", "softirq:NET_RX"},
		{"copy_linear_skb", "task:server[101]"},
	})
	i := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "ip_rcv" })
	if !slices.Contains(stackFns(tr, i), "__sys_sendto") {
		t.Errorf("ip_rcv does not run inside sendto: %v", stackFns(tr, i))
	}
	if r := retOfFn(tr, "A", "__sys_recvfrom"); r == nil || r.Ret != "5" {
		t.Errorf("server's recvfrom returned %v", r)
	}
}

// TestInterruptCoalescing: B's three frames arrive within one ITR
// interval and are all received by NAPI polls; recvfrom returns thrice.
func TestInterruptCoalescing(t *testing.T) {
	tr := runLesson(t, "udp-a-to-b")
	irqs, polls := 0, 0
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.IRQ {
			irqs++
		}
		if e.Host == "B" && e.Kind == trace.Call && e.Fn == "e1000_clean_rx_irq" {
			polls++
		}
	}
	if irqs >= 3 || polls < 1 {
		t.Errorf("%d interrupts and %d RX cleans for three frames", irqs, polls)
	}
	n := 0
	for i, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Call && e.Fn == "__sys_recvfrom" {
			if r := retOf(tr, i); r != nil && (r.Ret == "3" || r.Ret == "5") {
				n++
			}
		}
	}
	if n != 3 {
		t.Errorf("%d recvfrom calls returned a datagram, want 3", n)
	}
}

// TestQdiscOverflow: the burst overflows pfifo_fast; each dropped
// datagram's NET_XMIT_DROP becomes -ENOBUFS in ip_send_skb and 0 in
// udp_send_skb, so every sendto returns the length.
func TestQdiscOverflow(t *testing.T) {
	tr := runLesson(t, "qdisc-overflow")
	drops, enobufs, sent := 0, 0, 0
	for i, e := range tr.Events {
		switch {
		case e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_QDISC_DROP":
			drops++
			if !slices.Contains(stackFns(tr, i), "pfifo_fast_enqueue") {
				t.Fatalf("a qdisc drop outside pfifo_fast_enqueue: %v", stackFns(tr, i))
			}
		case e.Kind == trace.Ret && e.Fn == "ip_send_skb" && e.Ret == "-ENOBUFS":
			enobufs++
			if r := retOf(tr, e.Up); r == nil {
				t.Fatal("unbalanced")
			}
		case e.Kind == trace.Ret && e.Fn == "__sys_sendto":
			if e.Ret != "5" {
				t.Fatalf("sendto returned %s", e.Ret)
			}
			sent++
		}
	}
	if drops == 0 || drops != enobufs || sent != 1500 {
		t.Fatalf("%d qdisc drops, %d -ENOBUFS, %d sendto calls", drops, enobufs, sent)
	}
}

// TestNeighbourAging: a resolved entry left unused goes REACHABLE →
// STALE; used again it goes DELAY, then, unconfirmed after
// delay_probe_time, PROBE with a unicast ARP request, whose answer makes
// it REACHABLE again.
func TestNeighbourAging(t *testing.T) {
	f, err := Load("arp")
	if err != nil {
		t.Fatal(err)
	}
	f.UntilNs = 90_000_000_000
	steps := f.Hosts[0].Programs[0].Steps
	f.Hosts[0].Programs[0].Steps = append(steps, Step{Op: "sleep", Ns: 60_000_000_000}, steps[1])
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range tr.Events {
		if e.Host == "A" && e.Kind == trace.State && strings.HasPrefix(e.Note, "neighbour 192.0.2.2 ") {
			states = append(states, e.Note[strings.Index(e.Note, "→")+4:strings.Index(e.Note, " (")])
		}
	}
	want := []string{"NUD_INCOMPLETE", "NUD_REACHABLE", "NUD_STALE", "NUD_DELAY", "NUD_PROBE", "NUD_REACHABLE"}
	if !slices.Equal(states, want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	unicast := false
	for _, e := range tr.Events {
		if e.Kind == trace.Wire && e.Host == "A" && header.Ethernet(e.Frame).Type() == header.EtherTypeARP &&
			header.Ethernet(e.Frame).Dst() != header.Broadcast {
			unicast = true
		}
	}
	if !unicast {
		t.Error("the probe was not a unicast ARP request")
	}
}

// TestNetfilterDrop: an output rule makes sendto return -EPERM; an input
// rule on the receiver drops silently inside ip_local_deliver.
func TestNetfilterDrop(t *testing.T) {
	tr := runLesson(t, "netfilter-drop")
	var rets []string
	for i, e := range tr.Events {
		if e.Host == "A" && e.Kind == trace.Call && e.Fn == "__sys_sendto" {
			rets = append(rets, retOf(tr, i).Ret)
		}
	}
	if !slices.Equal(rets, []string{"-EPERM", "3", "5"}) {
		t.Errorf("sendto returned %v, want [-EPERM 3 5]", rets)
	}
	var where []string
	for i, e := range tr.Events {
		if e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_NETFILTER_DROP" {
			fns := stackFns(tr, i)
			where = append(where, e.Host+" "+strings.Join(fns, " "))
		}
	}
	if len(where) != 2 || !strings.Contains(where[0], "__ip_local_out") || !strings.HasPrefix(where[1], "B ") || !strings.Contains(where[1], "ip_local_deliver") {
		t.Errorf("drops at %q", where)
	}
	if r := retOfFn(tr, "B", "__sys_recvfrom"); r == nil || r.Ret != "5" {
		t.Errorf("B's recvfrom returned %v, want the third datagram", r)
	}
}

// TestTcpdumpTap: on the way out, dev_queue_xmit_nit clones once for two
// taps (one reference each); on the way in, the tap takes a reference on
// the skb that climbs to UDP, no clone. Every ring holds the frame as it
// was when copied (before the NIC finished the checksum and padded it).
func TestTcpdumpTap(t *testing.T) {
	tr := runLesson(t, "tcpdump-tap")
	nit := firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "dev_queue_xmit_nit"
	})
	if nit < 0 {
		t.Fatal("no dev_queue_xmit_nit on A")
	}
	orig := tr.Events[nit].Skb[0]
	end := firstEvent(tr, nit, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "dev_queue_xmit_nit" })
	var clones, delivers, rcvs int
	clone := -1
	for i := nit; i < end; i++ {
		e := &tr.Events[i]
		switch {
		case e.Kind == trace.Clone:
			clones++
			clone = e.Skb[len(e.Skb)-1]
		case e.Kind == trace.Call && e.Fn == "deliver_skb":
			delivers++
		case e.Kind == trace.Call && e.Fn == "tpacket_rcv":
			rcvs++
			// The first tap shares the clone with the second.
			if s := tr.SnapOf(i, clone); rcvs == 1 && (s == nil || s.Users != 2 || !s.Cloned || s.Dataref != 2) {
				t.Errorf("clone at the first tpacket_rcv: %+v, want users 2, cloned, dataref 2", s)
			}
			if !hasSkb(e, clone) || hasSkb(e, orig) {
				t.Errorf("tpacket_rcv on A got skbs %v, want the clone %d", e.Skb, clone)
			}
		}
	}
	if clones != 1 || delivers != 1 || rcvs != 2 {
		t.Errorf("A: %d clones, %d deliver_skb, %d tpacket_rcv; want 1, 1, 2", clones, delivers, rcvs)
	}
	var wire []byte
	rings := map[string][]byte{}
	for i := range tr.Events {
		e := &tr.Events[i]
		if e.Kind == trace.Wire && wire == nil {
			wire = e.Frame
		}
		if e.Kind == trace.Enqueue && strings.HasSuffix(e.Queue, "packet ring") {
			rings[e.Host+" "+e.Queue] = e.Frame
		}
	}
	// B's tap copies the frame as it came off the wire, padding and all.
	if r := rings["B tcpdump -i eth0 packet ring"]; wire == nil || !slices.Equal(r, wire) {
		t.Errorf("B's ring holds %x, the wire carried %x", r, wire)
	}
	// A's taps see the frame before the NIC pads it and, with checksum
	// offload (CHECKSUM_PARTIAL), before it writes the UDP checksum: only
	// the pseudo-header sum is there, which tcpdump calls incorrect.
	const udpCheck = header.EthernetLen + header.IPv4MinLen + 6
	for _, r := range []string{"A tcpdump -i eth0 packet ring", "A tcpdump -i any packet ring"} {
		got := rings[r]
		if len(got) != 47 || len(wire) != 60 {
			t.Fatalf("%s: %d bytes, wire %d; want 47 and 60 (padded)", r, len(got), len(wire))
		}
		if !slices.Equal(got[:udpCheck], wire[:udpCheck]) || !slices.Equal(got[udpCheck+2:], wire[udpCheck+2:47]) {
			t.Errorf("%s holds %x, the wire carried %x", r, got, wire)
		}
		if slices.Equal(got[udpCheck:udpCheck+2], wire[udpCheck:udpCheck+2]) {
			t.Errorf("%s: UDP checksum %x already final", r, got[udpCheck:udpCheck+2])
		}
	}
	// On B the tap's reference is on the skb UDP receives.
	d := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Host == "B" && e.Kind == trace.Call && e.Fn == "deliver_skb" })
	u := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Host == "B" && e.Kind == trace.Call && e.Fn == "udp_rcv" })
	if d < 0 || u < 0 || tr.Events[d].Skb[0] != tr.Events[u].Skb[0] {
		t.Fatalf("B: deliver_skb %d, udp_rcv %d: not the same skb", d, u)
	}
	if s := tr.SnapOf(d+1, tr.Events[d].Skb[0]); s == nil || s.Users != 2 || s.Cloned {
		t.Errorf("B's skb inside deliver_skb: %+v, want users 2, not cloned", s)
	}
}

// TestDeviceDown: a datagram sent while `ip link set eth0 down` sleeps in
// the driver meets noop_qdisc (dropped, NET_XMIT_CN, yet sendto succeeds);
// once the routes are flushed sendto fails with -ENETUNREACH; after `up`
// and before carrier the ARP request meets noop_qdisc, and the datagram
// leaves only once linkwatch has put pfifo_fast back.
func TestDeviceDown(t *testing.T) {
	tr := runLesson(t, "device-down")
	var rets []string
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Host == "A" && e.Kind == trace.Ret && e.Fn == "__sys_sendto" {
			rets = append(rets, e.Ret)
		}
	}
	if want := []string{"3", "3", "-ENETUNREACH", "4"}; !slices.Equal(rets, want) {
		t.Errorf("sendto returned %v, want %v", rets, want)
	}
	var noop []int
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Kind == trace.Ret && e.Fn == "noop_enqueue" {
			if e.Ret != "NET_XMIT_CN" {
				t.Errorf("noop_enqueue returned %s", e.Ret)
			}
			noop = append(noop, i)
		}
	}
	if len(noop) != 2 {
		t.Fatalf("%d skbs met noop_qdisc, want 2 (datagram two, the first ARP request)", len(noop))
	}
	if fns := stackFns(tr, noop[0]); !slices.Contains(fns, "udp_sendmsg") {
		t.Errorf("first noop drop not on the sendto path: %v", fns)
	}
	if fns := stackFns(tr, noop[1]); !slices.Contains(fns, "arp_solicit") {
		t.Errorf("second noop drop not an ARP request: %v", fns)
	}
	drop := firstEvent(tr, noop[0]-3, func(e *trace.Event) bool { return e.Kind == trace.Drop })
	if drop < 0 || drop > noop[0] || tr.Events[drop].Reason != "SKB_DROP_REASON_QDISC_DROP" {
		t.Errorf("noop drop reason: event %d", drop)
	}
	// The sleeping ip task: the drop happens while it is inside e1000e_down.
	down := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "e1000e_down" })
	downRet := firstEvent(tr, down, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "e1000e_down" })
	if !(down < noop[0] && noop[0] < downRet) {
		t.Errorf("e1000e_down %d..%d, first noop drop at %d", down, downRet, noop[0])
	}
	act := firstEvent(tr, noop[1], func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "transition_one_qdisc" })
	if act < 0 || tr.Events[act].Ctx != "task:kworker/u4:1[30]" {
		t.Fatal("pfifo_fast not reinstated by linkwatch")
	}
	wire := firstEvent(tr, act, func(e *trace.Event) bool { return e.Kind == trace.Wire && e.Host == "A" })
	if wire < 0 {
		t.Fatal("nothing on the wire after the link came up")
	}
	// B receives "one" and "four", nothing else.
	var got []string
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Host == "B" && e.Kind == trace.Ret && e.Fn == "__sys_recvfrom" {
			got = append(got, e.Ret)
		}
	}
	if !slices.Equal(got, []string{"3", "4"}) {
		t.Errorf("B's recvfrom returned %v, want [3 4]", got)
	}
}
