package ipv4_test

import (
	"testing"

	"skbscope/scenario"
)

// TestCheckReqHashdance: tcp_check_req first has syn_recv_sock make the
// child, then itself calls inet_csk_complete_hashdance, which moves it
// to the accept queue (6.12's order: the hashdance is not inside
// tcp_v4_syn_recv_sock).
func TestCheckReqHashdance(t *testing.T) {
	tr := simulate(t, world(t, 100_000_000, []scenario.Program{client()}, []scenario.Program{server()}))
	cr := calls(tr, "B", "tcp_check_req")
	if len(cr) != 1 {
		t.Fatalf("%d tcp_check_req calls", len(cr))
	}
	srs := calls(tr, "B", "tcp_v4_syn_recv_sock")
	hd := calls(tr, "B", "inet_csk_complete_hashdance")
	if len(srs) != 1 || len(hd) != 1 {
		t.Fatalf("syn_recv_sock %v, hashdance %v", srs, hd)
	}
	if tr.Events[srs[0]].Up != cr[0] || tr.Events[hd[0]].Up != cr[0] {
		t.Errorf("syn_recv_sock in %s, hashdance in %s; want both in tcp_check_req", parentFn(tr, srs[0]), parentFn(tr, hd[0]))
	}
	if r := retOf(tr, srs[0]); r == nil || r.Seq > hd[0] {
		t.Error("the hashdance runs before syn_recv_sock returned")
	}
	if q := calls(tr, "B", "inet_csk_reqsk_queue_add"); len(q) != 1 || !inside(tr, q[0], hd[0]) {
		t.Errorf("inet_csk_reqsk_queue_add %v, want one inside the hashdance", q)
	}
}
