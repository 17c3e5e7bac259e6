package scenario

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"skbscope/stack/trace"
)

// TestTCPHandshakePaths: the active and passive opens follow Linux
// 6.12's functions, in their contexts.
func TestTCPHandshakePaths(t *testing.T) {
	tr := runLesson(t, "tcp-handshake")
	const client, server, rx = "task:client[101]", "task:server[101]", "softirq:NET_RX"
	checkOrder(t, tr, "A", []want{
		{"__sys_connect", client}, {"inet_stream_connect", client}, {"__inet_stream_connect", client},
		{"tcp_v4_connect", client}, {"tcp_set_state", client}, {"inet_hash_connect", client},
		{"secure_tcp_seq_and_ts_off", client}, {"tcp_connect", client}, {"tcp_transmit_skb", client},
		{"__tcp_transmit_skb", client}, {"tcp_v4_send_check", client}, {"__ip_queue_xmit", client},
		{"inet_csk_reset_xmit_timer", client}, {"inet_wait_for_connect", client},
		{"tcp_v4_rcv", rx}, {"tcp_v4_do_rcv", rx}, {"tcp_rcv_state_process", rx},
		{"tcp_rcv_synsent_state_process", rx}, {"tcp_ack", rx}, {"tcp_finish_connect", rx}, {"tcp_send_ack", rx},
		{"tcp_sendmsg", client}, {"tcp_sendmsg_locked", client}, {"tcp_push", client}, {"tcp_write_xmit", client},
	})
	checkOrder(t, tr, "B", []want{
		{"__sys_listen", server}, {"inet_listen", server}, {"inet_csk_listen_start", server},
		{"__sys_accept4", server}, {"inet_csk_accept", server}, {"inet_csk_wait_for_connect", server},
		{"tcp_v4_rcv", rx}, {"tcp_rcv_state_process", rx}, {"tcp_v4_conn_request", rx}, {"tcp_conn_request", rx},
		{"inet_csk_reqsk_queue_hash_add", rx}, {"tcp_v4_send_synack", rx},
		{"tcp_v4_rcv", rx}, {"tcp_check_req", rx}, {"tcp_v4_syn_recv_sock", rx}, {"tcp_create_openreq_child", rx},
		{"inet_csk_complete_hashdance", rx}, {"inet_csk_reqsk_queue_add", rx}, {"tcp_child_process", rx},
		{"tcp_recvmsg", server}, {"tcp_recvmsg_locked", server}, {"skb_copy_datagram_iter", server},
	})
	if r := retOfFn(tr, "A", "__sys_connect"); r == nil || r.Ret != "0" {
		t.Errorf("connect returned %v", r)
	}
	if r := retOfFn(tr, "B", "__sys_accept4"); r == nil || r.Ret != "4" {
		t.Errorf("accept returned %v", r)
	}
	// Both ends close cleanly: B, which closed first, waits in TIME_WAIT;
	// A goes CLOSE_WAIT → LAST_ACK → CLOSE.
	for _, s := range []string{"TCP_FIN_WAIT1 → TCP_FIN_WAIT2", "TCP_FIN_WAIT2 → TCP_TIME_WAIT", "TCP_CLOSE_WAIT → TCP_LAST_ACK", "TCP_LAST_ACK → TCP_CLOSE"} {
		if firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.State && strings.HasSuffix(e.Note, s) }) < 0 {
			t.Errorf("no %s", s)
		}
	}
}

// TestTCPWire decodes the handshake with gopacket: Linux's SYN options
// (MSS 1460, SACK permitted, timestamps, window scale 7, window 64240),
// matching sequence numbers, and the checksums the NIC finished.
func TestTCPWire(t *testing.T) {
	tr := runLesson(t, "tcp-handshake")
	var segs []*layers.TCP
	for _, e := range tr.Events {
		if e.Kind != trace.Wire {
			continue
		}
		p := gopacket.NewPacket(e.Frame, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("not TCP/IPv4: %x", e.Frame)
		}
		want := tcp.Checksum
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, tcp, gopacket.Payload(tcp.Payload)); err != nil {
			t.Fatal(err)
		}
		re := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeTCP, gopacket.Default)
		if got := re.Layer(layers.LayerTypeTCP).(*layers.TCP).Checksum; got != want {
			t.Errorf("segment %d: checksum %#04x, gopacket computes %#04x", len(segs)+1, want, got)
		}
		segs = append(segs, tcp)
	}
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	syn, synack, ack := segs[0], segs[1], segs[2]
	if !syn.SYN || syn.ACK || syn.Window != 64240 {
		t.Errorf("SYN flags/window: %+v", syn)
	}
	var kinds []layers.TCPOptionKind
	for _, o := range syn.Options {
		kinds = append(kinds, o.OptionType)
		switch o.OptionType {
		case layers.TCPOptionKindMSS:
			if o.OptionData[0] != 0x05 || o.OptionData[1] != 0xb4 {
				t.Errorf("MSS %x", o.OptionData)
			}
		case layers.TCPOptionKindWindowScale:
			if o.OptionData[0] != 7 {
				t.Errorf("wscale %d", o.OptionData[0])
			}
		}
	}
	want := []layers.TCPOptionKind{layers.TCPOptionKindMSS, layers.TCPOptionKindSACKPermitted, layers.TCPOptionKindTimestamps,
		layers.TCPOptionKindNop, layers.TCPOptionKindWindowScale}
	if len(kinds) != len(want) {
		t.Fatalf("SYN options %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("SYN options %v, want %v", kinds, want)
		}
	}
	if !synack.SYN || !synack.ACK || synack.Ack != syn.Seq+1 || synack.Window != 65160 {
		t.Errorf("SYN-ACK: ack %d (want %d), window %d (want 65160)", synack.Ack, syn.Seq+1, synack.Window)
	}
	if ack.SYN || !ack.ACK || ack.Seq != syn.Seq+1 || ack.Ack != synack.Seq+1 {
		t.Errorf("final ACK: seq %d ack %d", ack.Seq, ack.Ack)
	}
}

// TestTCPRefused: a SYN to a closed port is answered by
// tcp_v4_send_reset, and connect() returns -ECONNREFUSED.
func TestTCPRefused(t *testing.T) {
	tr := runLesson(t, "tcp-refused")
	if r := retOfFn(tr, "A", "__sys_connect"); r == nil || r.Ret != "-ECONNREFUSED" {
		t.Fatalf("connect returned %v", r)
	}
	if firstEvent(tr, 0, func(e *trace.Event) bool { return e.Host == "B" && e.Kind == trace.Call && e.Fn == "tcp_v4_send_reset" }) < 0 {
		t.Error("B sent no reset")
	}
	if firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "B" && e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_NO_SOCKET"
	}) < 0 {
		t.Error("the SYN was not dropped with NO_SOCKET")
	}
}

// TestTCPLoopbackBacklog: on loopback the SYN-ACK reaches the client's
// socket while its own connect() holds it, waits on sk_backlog, and is
// processed by release_sock.
func TestTCPLoopbackBacklog(t *testing.T) {
	tr := runLesson(t, "tcp-loopback")
	i := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "tcp_add_backlog" })
	if i < 0 {
		t.Fatal("no segment was put on a socket backlog")
	}
	if !strings.Contains(strings.Join(stackFns(tr, i), " "), "__sys_connect") {
		t.Errorf("backlogged outside connect: %v", stackFns(tr, i))
	}
	j := firstEvent(tr, i, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "__release_sock" })
	if j < 0 || !strings.Contains(strings.Join(stackFns(tr, j), " "), "__sys_connect") {
		t.Fatal("the backlog was not processed by release_sock in connect")
	}
	for _, fn := range []string{"__sys_connect", "__sys_accept4"} {
		if r := retOfFn(tr, "A", fn); r == nil || strings.HasPrefix(r.Ret, "-") {
			t.Errorf("%s returned %v", fn, r)
		}
	}
	n := 0
	for i, e := range tr.Events {
		if e.Kind == trace.Call && e.Fn == "__sys_recvfrom" {
			if r := retOf(tr, i); r != nil && r.Ret == "4" {
				n++
			}
		}
	}
	if n != 2 {
		t.Errorf("%d recv calls returned 4 bytes, want ping and pong", n)
	}
}

// TestTCPLoss: every byte arrives, in order, over a lossy link: the hole
// is reported with SACK, RACK marks the segment lost, fast recovery
// retransmits it, and B's out-of-order queue drains into the receive
// queue.
func TestTCPLoss(t *testing.T) {
	tr := runLesson(t, "tcp-loss")
	got, lost := 0, 0
	for i, e := range tr.Events {
		if e.Host == "B" && e.Kind == trace.Call && e.Fn == "__sys_recvfrom" {
			if r := retOf(tr, i); r != nil && !strings.HasPrefix(r.Ret, "-") {
				n := 0
				for _, c := range r.Ret {
					n = n*10 + int(c-'0')
				}
				got += n
			}
		}
		if e.Kind == trace.Drop && e.Reason == "wire loss" {
			lost++
		}
	}
	if got != 100000 {
		t.Fatalf("B received %d bytes, want 100000", got)
	}
	if lost == 0 {
		t.Fatal("nothing was lost: the lesson shows nothing")
	}
	for _, fn := range []string{"tcp_data_queue_ofo", "tcp_sacktag_write_queue", "tcp_rack_mark_lost", "tcp_enter_recovery", "__tcp_retransmit_skb", "tcp_ofo_queue"} {
		if firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == fn }) < 0 {
			t.Errorf("%s never ran", fn)
		}
	}
	// The dupacks carried SACK blocks.
	sack := false
	for _, e := range tr.Events {
		if e.Kind == trace.Wire && e.Host == "B" {
			p := gopacket.NewPacket(e.Frame, layers.LayerTypeEthernet, gopacket.Default)
			if tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP); tcp != nil {
				for _, o := range tcp.Options {
					sack = sack || o.OptionType == layers.TCPOptionKindSACK
				}
			}
		}
	}
	if !sack {
		t.Error("no ACK carried a SACK block")
	}
}

// TestTCPLoopbackGdbCounts: seed 004's breakpoints. In Linux 6.12 the
// handshake passes __tcp_transmit_skb twice (SYN, final ACK: the SYN-ACK
// goes out through ip_build_and_send_pkt); the first send() then hits
// the seed's breakpoints in its order, and __tcp_transmit_skb once more
// for the receiver's quick ACK.
func TestTCPLoopbackGdbCounts(t *testing.T) {
	tr := runLesson(t, "tcp-loopback")
	bps := map[string]bool{"__sys_sendto": true, "tcp_sendmsg_locked": true, "tcp_push": true,
		"__tcp_push_pending_frames": true, "tcp_write_xmit": true, "__tcp_transmit_skb": true}
	var hits []string
	for _, e := range tr.Events {
		if e.Kind == trace.Call && bps[e.Fn] {
			hits = append(hits, e.Fn)
		}
	}
	want := []string{"__tcp_transmit_skb", "__tcp_transmit_skb", // handshake
		"__sys_sendto", "tcp_sendmsg_locked", "tcp_push", "__tcp_push_pending_frames", "tcp_write_xmit",
		"__tcp_transmit_skb", "__tcp_transmit_skb"} // the data and the server's ACK
	if len(hits) < len(want) || !slices.Equal(hits[:len(want)], want) {
		t.Fatalf("breakpoint hits %v,\nwant them to start %v", hits, want)
	}
}

// TestTCPClose: half-close with shutdown(SHUT_WR): A still reads B's
// reply after its FIN, B's recv returns 0 at A's FIN, and A ends in
// TIME_WAIT while B closes.
func TestTCPClose(t *testing.T) {
	tr := runLesson(t, "tcp-close")
	var aStates, bStates []string
	for _, e := range tr.Events {
		if e.Kind == trace.State && strings.Contains(e.Note, " → TCP_") && strings.HasPrefix(e.Note, "sk") {
			st := e.Note[strings.LastIndex(e.Note, " ")+1:]
			if e.Host == "A" {
				aStates = append(aStates, st)
			} else if strings.Contains(e.Note, "child") {
				bStates = append(bStates, st)
			}
		}
	}
	if w := []string{"TCP_SYN_SENT", "TCP_ESTABLISHED", "TCP_FIN_WAIT1", "TCP_FIN_WAIT2", "TCP_TIME_WAIT"}; !slices.Equal(aStates, w) {
		t.Errorf("A went %v, want %v", aStates, w)
	}
	if w := []string{"TCP_ESTABLISHED", "TCP_CLOSE_WAIT", "TCP_LAST_ACK", "TCP_CLOSE"}; !slices.Equal(bStates, w) {
		t.Errorf("B went %v, want %v", bStates, w)
	}
	var aRecv []string
	for i, e := range tr.Events {
		if e.Host == "A" && e.Kind == trace.Call && e.Fn == "__sys_recvfrom" {
			if r := retOf(tr, i); r != nil {
				aRecv = append(aRecv, r.Ret)
			}
		}
	}
	if !slices.Equal(aRecv, []string{"2", "0"}) {
		t.Errorf("A's reads after shutdown returned %v, want [2 0] (\"ok\", then end of file)", aRecv)
	}
}

// TestTCPSocketOptions: TCP_NODELAY lets a second small segment go while
// the first is unacknowledged; MSG_MORE holds a partial segment back; a
// non-blocking recv with nothing queued is -EAGAIN.
func TestTCPSocketOptions(t *testing.T) {
	run := func(steps []Step) *trace.Trace {
		f, err := Load("tcp-send")
		if err != nil {
			t.Fatal(err)
		}
		f.Hosts[0].Programs[0].Steps = append([]Step{{Op: "socket", Type: "tcp", As: "s"}, {Op: "connect", Sock: "s", To: "192.0.2.2:80"}}, steps...)
		tr, err := Simulate(f)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	sentInSendto := func(tr *trace.Trace, n int) int {
		calls := 0
		for i, e := range tr.Events {
			if e.Host == "A" && e.Kind == trace.Call && e.Fn == "__sys_sendto" {
				calls++
				if calls == n {
					r := retOf(tr, i)
					c := 0
					for _, x := range tr.Events[i:r.Seq] {
						if x.Kind == trace.Call && x.Fn == "__tcp_transmit_skb" {
							c++
						}
					}
					return c
				}
			}
		}
		return -1
	}
	two := []Step{{Op: "send", Sock: "s", Data: "a"}, {Op: "send", Sock: "s", Data: "b"}}
	if n := sentInSendto(run(two), 2); n != 0 {
		t.Errorf("with Nagle, the second small send left %d segments at once, want 0", n)
	}
	nodelay := append([]Step{{Op: "setsockopt", Sock: "s", Opt: "TCP_NODELAY", Value: 1}}, two...)
	if n := sentInSendto(run(nodelay), 2); n != 1 {
		t.Errorf("with TCP_NODELAY, the second small send left %d segments at once, want 1", n)
	}
	more := []Step{{Op: "send", Sock: "s", Data: "a", Flags: []string{"MSG_MORE"}}}
	if n := sentInSendto(run(more), 1); n != 0 {
		t.Errorf("with MSG_MORE, %d segments left, want 0", n)
	}
	f, _ := Load("tcp-send")
	f.Hosts[0].Programs[0].Steps = []Step{{Op: "socket", Type: "tcp", As: "s", Nonblock: true},
		{Op: "connect", Sock: "s", To: "192.0.2.2:80"}, {Op: "sleep", Ns: 1_000_000}, {Op: "recv", Sock: "s", Size: 100}}
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	if r := retOfFn(tr, "A", "__sys_connect"); r == nil || r.Ret != "-EINPROGRESS" {
		t.Errorf("non-blocking connect returned %v", r)
	}
	if r := retOfFn(tr, "A", "__sys_recvfrom"); r == nil || r.Ret != "-EAGAIN" {
		t.Errorf("non-blocking recv returned %v", r)
	}
}

// TestTCPShutRd: shutdown(SHUT_RD) sets RCV_SHUTDOWN and sends no FIN;
// reads still return what was queued ("hi!"), then 0 at once instead of
// sleeping for more.
func TestTCPShutRd(t *testing.T) {
	f, err := Load("tcp-close")
	if err != nil {
		t.Fatal(err)
	}
	b := &f.Hosts[1].Programs[0]
	drain := b.Steps[4]
	if drain.Op != "drain" {
		t.Fatalf("B's step 4 is %q", drain.Op)
	}
	b.Steps = append(b.Steps[:4], append([]Step{{Op: "shutdown", Sock: drain.Sock, How: "SHUT_RD"}}, b.Steps[4:]...)...)
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	var shut, recv []string
	fins, waits := 0, 0
	for i, e := range tr.Events {
		if e.Host != "B" || e.Kind != trace.Call {
			continue
		}
		switch e.Fn {
		case "inet_shutdown":
			shut = append(shut, retOf(tr, i).Ret)
		case "sk_wait_data":
			if len(shut) > 0 {
				waits++
			}
		case "__sys_recvfrom":
			if r := retOf(tr, i); r != nil {
				recv = append(recv, r.Ret)
			}
		case "tcp_send_fin":
			fins++
		}
	}
	if !slices.Equal(shut, []string{"0"}) || len(recv) < 2 || recv[len(recv)-1] != "0" || waits != 0 {
		t.Errorf("B: shutdown returned %v, reads %v, %d waits after it; want [0], reads ending in 0, no wait", shut, recv, waits)
	}
	if fins != 1 {
		t.Errorf("B sent %d FINs, want 1 (from close, none from SHUT_RD)", fins)
	}
}
