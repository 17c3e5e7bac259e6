package scenario

import (
	"fmt"
	"strings"
	"testing"

	"skbscope/stack/trace"
)

// TestTXRingFullFlowControl: on a 10 Mbit/s link a burst of 300
// datagrams arrives faster than the wire drains it. Byte queue limits
// stop the queue long before the 256-descriptor ring could fill
// (netdev_tx_sent_queue sets __QUEUE_STATE_STACK_XOFF); later skbs wait in
// pfifo_fast (the first one requeued by sch_direct_xmit); TX completions
// (netdev_tx_completed_queue) clear the bit and schedule the qdisc, and
// NET_TX's qdisc_run sends the rest. Nothing is lost.
func TestTXRingFullFlowControl(t *testing.T) {
	f, err := Load("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	f.Links[0].RateBps = 10_000_000
	f.UntilNs = 2_000_000_000
	steps := []Step{{Op: "socket", Type: "udp", As: "s"}}
	for i := range 300 {
		steps = append(steps, Step{Op: "sendto", Sock: "s", To: "192.0.2.2:9000", Data: fmt.Sprintf("datagram %03d", i)})
	}
	f.Hosts[0].Programs[0].Steps = steps
	f.Hosts[0].Taps = nil
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	count := func(match func(e *trace.Event) bool) int {
		n := 0
		for i := range tr.Events {
			if match(&tr.Events[i]) {
				n++
			}
		}
		return n
	}
	onA := func(kind trace.Kind, fn string) func(*trace.Event) bool {
		return func(e *trace.Event) bool { return e.Host == "A" && e.Kind == kind && e.Fn == fn }
	}
	if n := count(func(e *trace.Event) bool {
		return e.Host == "A" && strings.Contains(e.Note, "__QUEUE_STATE_STACK_XOFF set")
	}); n == 0 {
		t.Fatal("BQL never stopped the queue")
	}
	if n := count(func(e *trace.Event) bool {
		return e.Host == "A" && strings.Contains(e.Note, "__QUEUE_STATE_STACK_XOFF cleared")
	}); n == 0 {
		t.Fatal("BQL never woke the queue")
	}
	for _, fn := range []string{"dev_requeue_skb", "pfifo_fast_enqueue", "netdev_tx_completed_queue", "dql_completed", "__netif_schedule", "net_tx_action", "qdisc_run"} {
		if count(onA(trace.Call, fn)) == 0 {
			t.Errorf("%s never ran", fn)
		}
	}
	if n := count(func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Call && e.Fn == "net_tx_action" && e.Ctx == "softirq:NET_TX"
	}); n == 0 {
		t.Error("net_tx_action did not run in NET_TX context")
	}
	if n := count(func(e *trace.Event) bool { return e.Host == "A" && e.Kind == trace.Wire }); n != 300 {
		t.Errorf("%d frames on the wire, want all 300", n)
	}
	if n := count(func(e *trace.Event) bool { return e.Host == "A" && e.Kind == trace.Drop }); n != 0 {
		t.Errorf("%d drops on A", n)
	}
	// Every sendto succeeded; some slept for send buffer space first.
	if n := count(func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "__sys_sendto" && e.Ret == "12" }); n != 300 {
		t.Errorf("%d sendto calls returned 12, want 300", n)
	}
	woken := count(func(e *trace.Event) bool {
		return e.Host == "A" && e.Fn == "sock_def_write_space_wfree" && strings.Contains(e.Note, "wake the writers")
	})
	if count(onA(trace.Call, "sock_wait_for_wmem")) == 0 || woken == 0 {
		t.Error("no sender slept for send buffer space and was woken by sock_wfree")
	}
	// B reads one datagram; its receive buffer holds what fits in
	// sk_rcvbuf and drops the rest with SOCKET_RCVBUFF.
	queued := count(func(e *trace.Event) bool {
		return e.Host == "B" && e.Kind == trace.Enqueue && e.Queue == "sk1 sk_receive_queue"
	})
	full := count(func(e *trace.Event) bool {
		return e.Host == "B" && e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_SOCKET_RCVBUFF"
	})
	if full == 0 || queued+full != 300 {
		t.Errorf("B queued %d and dropped %d for a full rcvbuf, of 300", queued, full)
	}
}
