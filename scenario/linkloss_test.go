package scenario

import (
	"encoding/json"
	"slices"
	"testing"

	"skbscope/stack/trace"
)

// linkLoss is udp-sendto with A sending a 1000-byte datagram every
// millisecond for 40 ms and the cable cut at cutNs (and mended at mendNs
// if that is not 0).
func linkLoss(t *testing.T, cutNs, mendNs int64) *trace.Trace {
	t.Helper()
	f, err := Load("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	steps := []Step{{Op: "socket", Type: "udp", As: "s"}}
	for range 40 {
		steps = append(steps, Step{Op: "sendto", Sock: "s", To: "192.0.2.2:9000", Size: 1000}, Step{Op: "sleep", Ns: 1_000_000})
	}
	f.Hosts[0].Programs[0].Steps = steps
	f.Links[0].DownAtNs, f.Links[0].UpAtNs = cutNs, mendNs
	f.UntilNs = 5_000_000_000
	if _, err := Parse(mustJSON(t, f)); err != nil {
		t.Fatal(err)
	}
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestLinkLossLinkwatch: the cable is cut 10.5 ms into a stream of
// datagrams. A's PHY raises LSC, e1000_watchdog_task sees no link and
// calls netif_carrier_off, which fires linkwatch; the linkwatch work
// (a kworker, not the driver) runs linkwatch_do_dev → dev_deactivate:
// noop_qdisc takes pfifo_fast's place, and NETDEV_CHANGE makes ARP
// forget the neighbours (neigh_carrier_down) and IPv4 mark the route
// linkdown. The frames the MAC could not send are freed by the reset
// task (e1000e_reinit_locked). Afterwards every datagram still returns
// 1000 from sendto: the ARP request for the peer dies in noop_enqueue
// (NET_XMIT_CN, SKB_DROP_REASON_QDISC_DROP) and the datagrams wait in
// the neighbour's arp_queue until resolution fails. No frame leaves A
// after the cut, and no skb leaks.
func TestLinkLossLinkwatch(t *testing.T) {
	const cut = 10_500_000
	tr := linkLoss(t, cut, 0)
	at := func(from int, kind trace.Kind, fn string) int {
		return firstEvent(tr, from, func(e *trace.Event) bool { return e.Host == "A" && e.Kind == kind && e.Fn == fn })
	}
	off := firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "netif_carrier_off" && e.T > cut
	})
	if off < 0 || !slices.Contains(stackFns(tr, off), "e1000_watchdog_task") {
		t.Fatalf("no netif_carrier_off from the watchdog task after the cut (event %d)", off)
	}
	fire := at(off, trace.Call, "linkwatch_fire_event")
	do := at(off, trace.Call, "linkwatch_do_dev")
	deact := at(off, trace.Call, "dev_deactivate")
	many := at(off, trace.Call, "dev_deactivate_many")
	if fire != off+1 || do < 0 || !(do < deact && deact < many) {
		t.Fatalf("carrier off %d, linkwatch_fire_event %d, linkwatch_do_dev %d, dev_deactivate %d, dev_deactivate_many %d", off, fire, do, deact, many)
	}
	if fns := stackFns(tr, deact); !slices.Contains(fns, "linkwatch_event") || tr.Events[deact].Ctx != "task:kworker/u4:1[30]" {
		t.Errorf("dev_deactivate in %s, stack %v: want the linkwatch work", tr.Events[deact].Ctx, fns)
	}
	change := firstEvent(tr, deact, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "call_netdevice_notifiers" && e.Note == "NETDEV_CHANGE for eth0"
	})
	if change < 0 || !slices.Contains(stackFns(tr, change), "netdev_state_change") {
		t.Fatalf("no NETDEV_CHANGE from netdev_state_change after dev_deactivate")
	}
	if cd := at(change, trace.Call, "neigh_carrier_down"); cd < 0 || !slices.Contains(stackFns(tr, cd), "arp_netdev_event") {
		t.Errorf("neigh_carrier_down not called by arp_netdev_event")
	}
	if fs := at(change, trace.Call, "fib_sync_down_dev"); fs < 0 || !slices.Contains(stackFns(tr, fs), "fib_netdev_event") {
		t.Errorf("fib_sync_down_dev not called by fib_netdev_event")
	}
	// the reset task frees what the ring held, as consumed skbs
	reset := at(off, trace.Call, "e1000_reset_task")
	clean := at(reset, trace.Call, "e1000_clean_tx_ring")
	if reset < 0 || clean < 0 {
		t.Fatal("no e1000_reset_task cleaning the TX ring")
	}
	cleanRet := at(clean, trace.Ret, "e1000_clean_tx_ring")
	freed := 0
	for i := clean; i < cleanRet; i++ {
		if e := &tr.Events[i]; e.Kind == trace.Free {
			freed++
		}
	}
	if freed == 0 {
		t.Error("the reset freed nothing from the TX ring: the frames sent between the cut and carrier off should be there")
	}
	// after the deactivation, noop_enqueue drops
	noop := 0
	for i := many; i < len(tr.Events); i++ {
		e := &tr.Events[i]
		if e.Host == "A" && e.Kind == trace.Ret && e.Fn == "noop_enqueue" {
			noop++
			if e.Ret != "NET_XMIT_CN" {
				t.Errorf("noop_enqueue returned %s", e.Ret)
			}
			if d := firstEvent(tr, i-4, func(e *trace.Event) bool { return e.Kind == trace.Drop }); d < 0 || d > i || tr.Events[d].Reason != "SKB_DROP_REASON_QDISC_DROP" {
				t.Errorf("noop drop at %d has no QDISC_DROP", i)
			}
		}
	}
	if noop == 0 {
		t.Error("nothing met noop_qdisc after the carrier loss")
	}
	for _, r := range sendtoRets(tr, "A") {
		if r != "1000" {
			t.Errorf("sendto returned %s, want 1000 every time", r)
		}
	}
	for i := range tr.Events {
		if e := &tr.Events[i]; e.Kind == trace.Wire && e.Wire == "lan0" && e.Host == "A" && e.T > cut {
			t.Errorf("A put a frame on the wire at %d ns, after the cut", e.T)
		}
	}
	live, _ := liveSkbs(tr)
	for id, q := range live {
		if q == "" {
			t.Errorf("skb %d is neither freed nor queued", id)
		}
	}
}

// mustJSON encodes f, so a test can check it as a file would be.
func mustJSON(t *testing.T, f *File) []byte {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLinkLossMended: the cable comes back 10 ms after the cut. The
// watchdog task sees the link, netif_carrier_on fires an urgent
// linkwatch event (noop_qdisc is still in place), the work reinstates
// pfifo_fast (dev_activate → transition_one_qdisc) and NETDEV_CHANGE
// clears the route's linkdown; ARP resolves the peer again and
// datagrams reach B.
func TestLinkLossMended(t *testing.T) {
	const cut, mend = 10_500_000, 20_500_000
	tr := linkLoss(t, cut, mend)
	on := firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "netif_carrier_on" && e.T > mend
	})
	if on < 0 {
		t.Fatal("no netif_carrier_on after the cable came back")
	}
	fire := firstEvent(tr, on, func(e *trace.Event) bool { return e.Host == "A" && e.Fn == "linkwatch_fire_event" })
	if fire < 0 || tr.Events[fire].Note != "eth0 joins lweventlist; urgent: the carrier is back and noop_qdisc is still in place" {
		t.Errorf("carrier-on linkwatch event: %q", tr.Events[fire].Note)
	}
	act := firstEvent(tr, on, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "transition_one_qdisc"
	})
	if act < 0 || !slices.Contains(stackFns(tr, act), "linkwatch_do_dev") {
		t.Fatal("pfifo_fast not reinstated by linkwatch")
	}
	if up := firstEvent(tr, act, func(e *trace.Event) bool { return e.Host == "A" && e.Kind == trace.Call && e.Fn == "fib_sync_up" }); up < 0 {
		t.Error("no fib_sync_up on NETDEV_CHANGE with carrier")
	}
	sent := 0
	for i := act; i < len(tr.Events); i++ {
		if e := &tr.Events[i]; e.Kind == trace.Wire && e.Wire == "lan0" && e.Host == "A" {
			sent++
		}
	}
	if sent == 0 {
		t.Error("nothing left A once the link was back")
	}
	live, _ := liveSkbs(tr)
	for id, q := range live {
		if q == "" {
			t.Errorf("skb %d is neither freed nor queued", id)
		}
	}
}
