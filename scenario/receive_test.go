package scenario

import (
	"testing"

	"skbscope/stack/trace"
)

// step is one expected call: the function and the context it runs in.
type want struct{ fn, ctx string }

// checkOrder asserts that the calls on host appear in this order (others
// may come between) in the given contexts, and that each returns.
func checkOrder(t *testing.T, tr *trace.Trace, host string, path []want) {
	t.Helper()
	next := 0
	for i := range tr.Events {
		e := &tr.Events[i]
		if next == len(path) || e.Host != host || e.Kind != trace.Call || e.Fn != path[next].fn {
			continue
		}
		if e.Ctx != path[next].ctx {
			t.Errorf("%s: %s ran in %s, want %s", host, e.Fn, e.Ctx, path[next].ctx)
		}
		if retOf(tr, i) == nil {
			t.Errorf("%s: %s (seq %d) never returns", host, e.Fn, i)
		}
		next++
	}
	if next != len(path) {
		t.Fatalf("%s: path stops before %s (%s)", host, path[next].fn, path[next].ctx)
	}
}

func TestUDPReceivePath(t *testing.T) {
	tr := runLesson(t, "udp-sendto")
	const (
		task = "task:receiver[101]"
		irq  = "hardirq:eth0"
		rx   = "softirq:NET_RX"
	)
	checkOrder(t, tr, "B", []want{
		{"__sys_recvfrom", task}, {"sock_recvmsg", task}, {"inet_recvmsg", task},
		{"udp_recvmsg", task}, {"__skb_recv_udp", task}, {"__skb_wait_for_more_packets", task},
		{"schedule", task},
		{"common_interrupt", irq}, {"e1000_intr_msi", irq}, {"napi_schedule_prep", irq},
		{"__napi_schedule", irq}, {"raise_softirq_irqoff", irq}, {"irq_exit_rcu", irq},
		{"handle_softirqs", rx}, {"net_rx_action", rx}, {"__napi_poll", rx}, {"e1000e_poll", rx},
		{"e1000_clean_rx_irq", rx}, {"__napi_alloc_skb", rx}, {"e1000_rx_checksum", rx},
		{"e1000_receive_skb", rx}, {"eth_type_trans", rx}, {"napi_gro_receive", rx},
		{"dev_gro_receive", rx}, {"gro_normal_one", rx}, {"napi_complete_done", rx},
		{"gro_normal_list", rx}, {"netif_receive_skb_list_internal", rx},
		{"__netif_receive_skb_core", rx}, {"ip_list_rcv", rx}, {"ip_rcv_core", rx},
		{"ip_sublist_rcv", rx}, {"nf_hook", rx}, {"ip_rcv_finish_core", rx},
		{"ip_route_input_noref", rx}, {"dst_input", rx}, {"ip_local_deliver", rx}, {"nf_hook", rx},
		{"ip_local_deliver_finish", rx}, {"ip_protocol_deliver_rcu", rx}, {"udp_rcv", rx},
		{"__udp4_lib_rcv", rx}, {"__udp4_lib_lookup", rx}, {"udp_queue_rcv_one_skb", rx},
		{"__udp_enqueue_schedule_skb", rx}, {"sock_def_readable", rx}, {"try_to_wake_up", rx},
		{"e1000_irq_enable", rx},
		{"copy_linear_skb", task}, {"skb_consume_udp", task}, {"consume_skb", task},
	})
	// recvfrom returns the five bytes, after the wake-up.
	for i, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Call && e.Fn == "__sys_recvfrom" {
			if r := retOf(tr, i); r == nil || r.Ret != "5" || r.T <= e.T {
				t.Fatalf("recvfrom returned %+v", r)
			}
		}
	}
}

// TestTXCompletion: host A's driver frees the sent skb from NAPI, in
// NET_RX softirq context, after the TX-done interrupt.
func TestTXCompletion(t *testing.T) {
	tr := runLesson(t, "udp-sendto")
	const rx = "softirq:NET_RX"
	checkOrder(t, tr, "A", []want{
		{"e1000_xmit_frame", "task:sender[101]"},
		{"e1000_intr_msi", "hardirq:eth0"},
		{"e1000e_poll", rx}, {"e1000_clean_tx_irq", rx}, {"e1000_put_txbuf", rx},
		{"dev_kfree_skb_any_reason", rx}, {"sock_wfree", rx},
	})
	for _, e := range tr.Events {
		if e.Host == "A" && e.Kind == trace.Free && len(e.Skb) == 1 && e.Skb[0] == 1 {
			if e.Ctx != rx || e.Reason != "SKB_CONSUMED" {
				t.Errorf("skb 1 freed in %s with %s", e.Ctx, e.Reason)
			}
			return
		}
	}
	t.Fatal("skb 1 is never freed")
}
