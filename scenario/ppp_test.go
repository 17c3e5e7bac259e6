package scenario

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// The ppp-sendto lesson and the PPP model around it: seed 000's chain
// in order and in its contexts, RFC 1662 bytes on the serial line (read
// by a decoder of the test's own), flow control of the channel, and a
// frame with a bad FCS.

// crcTable is the reflected CRC-CCITT table of RFC 1662's appendix,
// built here so that the test does not share the model's FCS code.
var crcTable = func() (t [256]uint16) {
	for b := range 256 {
		v := uint16(b)
		for range 8 {
			if v&1 != 0 {
				v = v>>1 ^ 0x8408
			} else {
				v >>= 1
			}
		}
		t[b] = v
	}
	return
}()

func fcs(b []byte) uint16 {
	f := uint16(0xffff)
	for _, c := range b {
		f = f>>8 ^ crcTable[byte(f)^c]
	}
	return f
}

// hdlcFrames decodes an RFC 1662 byte stream with the default ACCM
// (every byte below 0x20 escaped): the frames between flags, unstuffed,
// FCS checked and removed. Any rule broken is an error.
func hdlcFrames(stream []byte) ([][]byte, error) {
	if len(stream) == 0 || stream[0] != 0x7e || stream[len(stream)-1] != 0x7e {
		return nil, fmt.Errorf("stream does not start and end with a flag: % x", stream)
	}
	var frames [][]byte
	var cur []byte
	for i := 1; i < len(stream); i++ {
		c := stream[i]
		switch {
		case c == 0x7e:
			if len(cur) == 0 {
				continue
			}
			if len(cur) < 4 {
				return nil, fmt.Errorf("frame of %d bytes", len(cur))
			}
			if got := fcs(cur); got != 0xf0b8 {
				return nil, fmt.Errorf("FCS residue 0x%04x, want 0xf0b8: % x", got, cur)
			}
			frames = append(frames, cur[:len(cur)-2])
			cur = nil
		case c == 0x7d:
			if i+1 >= len(stream) {
				return nil, fmt.Errorf("escape at the end")
			}
			i++
			u := stream[i] ^ 0x20
			if u >= 0x20 && u != 0x7d && u != 0x7e {
				return nil, fmt.Errorf("needless escape of 0x%02x", u)
			}
			cur = append(cur, u)
		case c < 0x20:
			return nil, fmt.Errorf("control byte 0x%02x not escaped", c)
		default:
			cur = append(cur, c)
		}
	}
	if len(cur) != 0 {
		return nil, fmt.Errorf("unterminated frame")
	}
	return frames, nil
}

// hdlcEncode frames a PPP frame (protocol field on) as a sender with
// the default ACCM does, for injecting.
func hdlcEncode(ppp []byte, badFCS bool) []byte {
	body := append([]byte{0xff, 0x03}, ppp...)
	f := ^fcs(body)
	if badFCS {
		f ^= 0x0101
	}
	body = append(body, byte(f), byte(f>>8))
	out := []byte{0x7e}
	for _, c := range body {
		if c < 0x20 || c == 0x7d || c == 0x7e {
			out = append(out, 0x7d, c^0x20)
		} else {
			out = append(out, c)
		}
	}
	return append(out, 0x7e)
}

func wireStream(tr *trace.Trace, host string) []byte {
	var b []byte
	for _, e := range tr.Events {
		if e.Kind == trace.Wire && e.Host == host {
			b = append(b, e.Frame...)
		}
	}
	return b
}

// callsIn checks that the calls of host happen in this order (others
// may come between), each in the context given after "@".
func callsIn(t *testing.T, tr *trace.Trace, host string, want []string) {
	t.Helper()
	i := 0
	for _, e := range tr.Events {
		if i == len(want) {
			return
		}
		if e.Host != host || e.Kind != trace.Call {
			continue
		}
		fn, ctx, _ := strings.Cut(want[i], "@")
		if e.Fn == fn {
			if !strings.HasPrefix(e.Ctx, ctx) {
				t.Errorf("%s: %s in %s, want %s", host, fn, e.Ctx, ctx)
			}
			i++
		}
	}
	if i < len(want) {
		t.Errorf("%s: calls stop matching at %s", host, want[i])
	}
}

func TestPPPSendtoChain(t *testing.T) {
	f, err := Load("ppp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	for !r.Step(1 << 20) {
	}
	tr := r.Trace()
	if got := string(r.Received("B", "receiver")); got != "hello" {
		t.Errorf("B received %q, want hello", got)
	}
	const task, tasklet = "task:sender", "softirq:TASKLET"
	callsIn(t, tr, "A", []string{
		"ip_finish_output2@" + task, "neigh_output@" + task, "neigh_direct_output@" + task,
		"dev_queue_xmit@" + task, "__dev_queue_xmit@" + task, "dev_hard_start_xmit@" + task,
		"ppp_start_xmit@" + task, "ppp_xmit_process@" + task, "__ppp_xmit_process@" + task,
		"ppp_send_frame@" + task, "ppp_push@" + task, "ppp_async_send@" + task,
		"ppp_async_push@" + task, "ppp_async_encode@" + task, "uart_write@" + task,
		"serial8250_interrupt@hardirq:ttyS0", "serial8250_tx_chars@hardirq:ttyS0",
		"uart_write_wakeup@hardirq:ttyS0", "tty_wakeup@hardirq:ttyS0",
		"ppp_asynctty_wakeup@hardirq:ttyS0", "tasklet_schedule@hardirq:ttyS0",
		"ppp_async_process@" + tasklet,
	})
	callsIn(t, tr, "B", []string{
		"serial8250_interrupt@hardirq:ttyS0", "serial8250_rx_chars@hardirq:ttyS0",
		"tty_flip_buffer_push@hardirq:ttyS0", "flush_to_ldisc@task:kworker",
		"ppp_asynctty_receive@task:kworker", "ppp_async_input@task:kworker",
		"process_input_packet@task:kworker", "tasklet_schedule@task:kworker",
		"ppp_async_process@" + tasklet, "ppp_input@" + tasklet, "ppp_do_recv@" + tasklet,
		"ppp_receive_frame@" + tasklet, "ppp_receive_nonmp_frame@" + tasklet,
		"netif_rx@" + tasklet, "process_backlog@softirq:NET_RX", "ip_rcv@softirq:NET_RX",
		"udp_rcv@softirq:NET_RX",
	})
	// neigh_direct_output is what neigh_output calls, and no ARP or
	// Ethernet header is involved.
	for i, e := range tr.Events {
		if e.Kind == trace.Call && e.Fn == "neigh_direct_output" && tr.Events[e.Up].Fn != "neigh_output" {
			t.Errorf("event %d: neigh_direct_output called from %s", i, tr.Events[e.Up].Fn)
		}
		if e.Kind == trace.Call && (strings.HasPrefix(e.Fn, "arp_") || e.Fn == "eth_header" || e.Fn == "neigh_resolve_output") {
			t.Errorf("event %d: %s on a NOARP point-to-point link", i, e.Fn)
		}
	}

	frames, err := hdlcFrames(wireStream(tr, "A"))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 {
		t.Fatalf("%d frames on the line, want 1", len(frames))
	}
	p := frames[0]
	if !bytes.HasPrefix(p, []byte{0xff, 0x03, 0x00, 0x21}) {
		t.Fatalf("frame starts % x, want ff 03 00 21", p[:4])
	}
	ip := header.IPv4(p[4:])
	if ip.Dst() != ipB || ip.Src() != ipA || ip.Protocol() != header.ProtoUDP || !bytes.HasSuffix(p, []byte("hello")) {
		t.Errorf("frame is not A's hello to B: % x", p)
	}
	// The line's speed shows: B's recvfrom returns only after every byte
	// crossed at 10 bits a byte, 115200 bit/s.
	line := int64(len(wireStream(tr, "A"))) * 10 * 1_000_000_000 / 115200
	var sent, got int64
	for _, e := range tr.Events {
		if e.Kind == trace.Wire && e.Host == "A" && sent == 0 {
			sent = e.T
		}
		if e.Kind == trace.Call && e.Fn == "udp_rcv" {
			got = e.T
		}
	}
	if got-sent < line {
		t.Errorf("B's udp_rcv %d ns after the first byte left, faster than the line (%d ns)", got-sent, line)
	}
}

// pppWorld is the lesson's world with A's program and B's replaced.
func pppWorld(t *testing.T) *File {
	t.Helper()
	f, err := Load("ppp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPPPBurstStopsAndWakesQueue(t *testing.T) {
	f := pppWorld(t)
	f.UntilNs = 2_000_000_000
	f.Hosts[0].Programs[0].Steps[1] = Step{Op: "sendto", Sock: "s", To: "192.0.2.2:9000", Size: 1400, Count: 6}
	recv := f.Hosts[1].Programs[0].Steps[2]
	for range 5 {
		f.Hosts[1].Programs[0].Steps = append(f.Hosts[1].Programs[0].Steps, recv)
	}
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	for !r.Step(1 << 20) {
	}
	tr := r.Trace()
	stopped, woken, refused, drops := -1, -1, 0, 0
	for i, e := range tr.Events {
		if e.Host != "A" {
			continue
		}
		if e.Kind == trace.State && strings.Contains(e.Note, "ppp0 txq stopped") && stopped < 0 {
			stopped = i
		}
		if e.Kind == trace.Ret && e.Fn == "ppp_async_send" && e.Ret == "0" {
			refused++
		}
		if e.Kind == trace.Call && e.Fn == "netif_tx_wake_queue" && stopped >= 0 && woken < 0 {
			// woken from the channel's wakeup, in the tasklet
			for _, up := range tr.Stack(i) {
				if tr.Events[up].Fn == "ppp_output_wakeup" && e.Ctx == "softirq:TASKLET" {
					woken = i
				}
			}
		}
		if e.Kind == trace.Drop && e.Reason != "" {
			drops++
		}
	}
	if stopped < 0 || refused == 0 {
		t.Fatalf("the queue never stopped (stopped %d, ppp_async_send refused %d times)", stopped, refused)
	}
	if woken < stopped {
		t.Fatalf("the queue was not woken by ppp_output_wakeup in the tasklet")
	}
	// After the wakeup NET_TX runs the qdisc again.
	ran := false
	for _, e := range tr.Events[woken:] {
		if e.Host == "A" && e.Kind == trace.Call && e.Fn == "net_tx_action" {
			ran = true
			break
		}
	}
	if !ran {
		t.Error("no net_tx_action after the wakeup")
	}
	n := len(r.Received("B", "receiver")) / 1400
	if n+drops != 6 || n < 4 {
		t.Errorf("B received %d datagrams and %d were dropped; want 6 in all, at least 4 received", n, drops)
	}
	frames, err := hdlcFrames(wireStream(tr, "A"))
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != n {
		t.Errorf("%d frames on the line, B received %d", len(frames), n)
	}
}

func TestPPPBadFCSDropped(t *testing.T) {
	f := pppWorld(t)
	f.Hosts[0].Programs = nil
	udp := []byte{0x30, 0x39, 0x23, 0x28, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'}
	pkt := append([]byte{0x00, 0x21}, ipPacket(header.ProtoUDP, udp)...)
	bad, good := hdlcEncode(pkt, true), hdlcEncode(pkt, false)
	f.Inject = []Inject{{AtNs: 1000, To: "B.ppp0", Frame: hex.EncodeToString(append(bad, good...))}}
	r, err := NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	for !r.Step(1 << 20) {
	}
	tr := r.Trace()
	if got := string(r.Received("B", "receiver")); got != "hello" {
		t.Errorf("B received %q, want the good frame's hello only", got)
	}
	var badFree, inputError, rxErrors bool
	for i, e := range tr.Events {
		if e.Kind == trace.Drop && e.Reason == "SKB_DROP_REASON_NOT_SPECIFIED" {
			for _, up := range tr.Stack(i) {
				if c := tr.Events[up]; c.Fn == "process_input_packet" && strings.Contains(c.Note, "bad FCS") {
					badFree = true
				}
			}
		}
		if e.Kind == trace.Call && e.Fn == "ppp_input_error" {
			inputError = true
		}
		if e.Kind == trace.Call && e.Fn == "ppp_receive_error" && strings.Contains(e.Note, "rx_errors = 1") {
			rxErrors = true
		}
	}
	if !badFree || !inputError || !rxErrors {
		t.Errorf("bad frame: freed in process_input_packet %v, ppp_input_error %v, rx_errors counted %v", badFree, inputError, rxErrors)
	}
}

// FuzzPPPAsync: hostile bytes on B's serial line, after a valid frame,
// must never panic the async HDLC receiver or anything above it.
func FuzzPPPAsync(f *testing.F) {
	udp := []byte{0x30, 0x39, 0x23, 0x28, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'}
	good := hdlcEncode(append([]byte{0x00, 0x21}, ipPacket(header.ProtoUDP, udp)...), false)
	f.Add(good)
	f.Add([]byte{0x7e, 0x7d, 0x7e, 0x7d})
	f.Add(hdlcEncode([]byte{0xc0, 0x21, 1, 1, 0, 4}, false))
	f.Add(hdlcEncode([]byte{0x21}, false))
	f.Add(bytes.Repeat([]byte{0x41}, 3000))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := Load("ppp-sendto")
		if err != nil {
			t.Fatal(err)
		}
		w.Hosts[0].Programs = nil
		w.Inject = []Inject{{AtNs: 500, To: "B.ppp0", Frame: hex.EncodeToString(b)}}
		w.UntilNs = 50_000_000
		if _, err := Simulate(w); err != nil {
			t.Fatal(err)
		}
	})
}

// The Ethernet chip knob leaves a serial line alone, and a ppp NIC
// takes no neighbour entries (it has no link-layer address).
func TestPPPKnobsAndChecks(t *testing.T) {
	f := pppWorld(t)
	g, err := Knobs{Model: "cs89x0"}.Apply(f)
	if err != nil {
		t.Fatal(err)
	}
	if g.Hosts[0].NICs[0].Model != "ppp" || g.Links[0].RateBps != 115200 {
		t.Errorf("knob model cs89x0 made ppp0 %q at %d bit/s", g.Hosts[0].NICs[0].Model, g.Links[0].RateBps)
	}
	if err := (Knobs{Model: "ppp"}).Check(); err == nil {
		t.Error("knob model ppp accepted: Ethernet NICs cannot become PPP units")
	}
	f.Hosts[0].Neighbours = []Neighbour{{Addr: "192.0.2.2", LLAddr: "02:00:00:00:00:0b", Dev: "ppp0"}}
	if err := f.check(newPositions(nil)); err == nil || !strings.Contains(err.Error(), "no link-layer addresses") {
		t.Errorf("neighbour on ppp0: %v", err)
	}
}
