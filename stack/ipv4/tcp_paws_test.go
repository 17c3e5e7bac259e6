package ipv4_test

import (
	"testing"

	"skbscope/scenario"
	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// strangerData is a data segment from the stranger with timestamp tsVal.
func strangerData(seq, ack uint32, data string, tsVal uint32) string {
	return strangerSegmentData(seq, ack, header.TCPAck|header.TCPPsh, tsVal, []byte(data))
}

// TestPAWS: the stranger opens a connection to B's server and sends
// "hello" with TSval 1002, then a segment that fits the window but
// carries TSval 900, older than ts_recent: tcp_validate_incoming's
// tcp_paws_discard rejects it (SKB_DROP_REASON_TCP_RFC7323_PAWS) and
// tcp_send_dupack tells the sender where B is. The same bytes with a
// fresh TSval are accepted. B's ISN comes from a first run that stops
// after the SYN-ACK (the simulation is deterministic).
func TestPAWS(t *testing.T) {
	f := world(t, 100_000_000, nil, []scenario.Program{server(scenario.Step{Op: "drain", Sock: "c", Size: 65536})})
	withStranger(f)
	const isn = 1000
	f.Inject = []scenario.Inject{{AtNs: 1_000_000, To: "B.eth0", Frame: strangerSegment(isn, 0, header.TCPSyn, 1000)}}
	var bISN uint32
	found := false
	for _, s := range segments(simulate(t, f)) {
		if s.from == "B" && s.flags&header.TCPSyn != 0 {
			bISN, found = s.seq, true
		}
	}
	if !found {
		t.Fatal("no SYN-ACK")
	}
	f.Inject = append(f.Inject,
		scenario.Inject{AtNs: 2_000_000, To: "B.eth0", Frame: strangerSegment(isn+1, bISN+1, header.TCPAck, 1001)},
		scenario.Inject{AtNs: 3_000_000, To: "B.eth0", Frame: strangerData(isn+1, bISN+1, "hello", 1002)},
		scenario.Inject{AtNs: 50_000_000, To: "B.eth0", Frame: strangerData(isn+6, bISN+1, "world", 900)},
		scenario.Inject{AtNs: 60_000_000, To: "B.eth0", Frame: strangerData(isn+6, bISN+1, "world", 1003)},
	)
	r, tr := run(t, f)
	if got := string(r.Received("B", "server")); got != "helloworld" {
		t.Errorf("B's server read %q, want helloworld", got)
	}
	pd := calls(tr, "B", "tcp_paws_discard")
	if len(pd) != 1 || parentFn(tr, pd[0]) != "tcp_validate_incoming" {
		t.Fatalf("tcp_paws_discard %v", pd)
	}
	if r := retOf(tr, pd[0]); r == nil || r.Ret != "true" {
		t.Errorf("tcp_paws_discard returned %v", r)
	}
	drops := 0
	for _, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_TCP_RFC7323_PAWS" {
			drops++
		}
	}
	if drops != 1 {
		t.Errorf("%d PAWS drops, want 1", drops)
	}
	dup := calls(tr, "B", "tcp_send_dupack")
	if len(dup) != 1 || !inside(tr, dup[0], tr.Events[pd[0]].Up) {
		t.Fatalf("tcp_send_dupack %v, want one for the old segment", dup)
	}
	// The dupack acknowledges "hello" only, and echoes ts_recent 1002.
	var ack segment
	for _, s := range segments(tr) {
		if s.from == "B" && s.t >= tr.Events[dup[0]].T && s.t < 60_000_000 {
			ack = s
			break
		}
	}
	if ack.ack != isn+6 || ack.opts.TSEcr != 1002 {
		t.Errorf("the dupack: ack %d ecr %d, want %d and 1002", ack.ack, ack.opts.TSEcr, isn+6)
	}
}
