package ipv4

import (
	"testing"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
)

// rxSeg is a received segment of n payload bytes charged as truesize.
func rxSeg(t *testing.T, k *kernel.Kernel, n, truesize int) *skb.SKB {
	s := skb.New(k.Sim.NextSkbID(), n)
	if _, err := s.PutBytes(n); err != nil {
		t.Fatal(err)
	}
	s.Truesize = truesize
	return s
}

// TestRcvSsthreshGrowth: the receive window of a fresh connection
// (tcp_rmem[1] 131072, MSS 1460, timestamps, window scale 7) opens as
// 6.12 opens it. The expected values are worked out here from the
// rules, not taken from the model:
//   - tcp_select_initial_window: full space 131072/2 = 65536, in whole
//     segments of 1448: rcv_wnd 65160, the rcv_ssthresh to start with;
//   - tcp_init_buffer_space: window_clamp 65536 − 1460 (one segment in
//     reserve) = 64076, rcv_ssthresh min(65160, 64076) = 64076; but the
//     window never shrinks, so the first ACK still offers the SYN's
//     65160, rounded up to 128: 510 << 7;
//   - with no room below window_clamp, a segment does not grow it;
//   - once autotuning has made the buffer 1 MiB (window_clamp 512 KiB),
//     each 1448-byte segment in 2304 bytes (worth 1152 ≤ 1448 of window)
//     adds max(2 × 1460, 2 × 1448) = 2920, and each ACK offers that,
//     rounded up to 128, while the reader keeps the queue empty;
//   - a 200-byte segment in 2304 bytes is worth growth (2 × 1448) only
//     while rcv_ssthresh ≤ tcp_rmem[2] / 16 = 393216;
//   - rcv_ssthresh stops at window_clamp.
func TestRcvSsthreshGrowth(t *testing.T) {
	sim := kernel.NewSim(1)
	k := sim.NewKernel("A", 1)
	n := New(k, core.NewNet(k, sched.Runner{}))
	tp := n.newTCPSock(&socket.Sock{})
	tp.mss, tp.advmss = 1448, 1460
	tp.rcvWnd, tp.rcvWscale, tp.windowClamp = selectInitialWindow(k, tcpFullSpace(tp), tp.mss)
	tp.rcvSsthresh = tp.rcvWnd
	if tp.rcvWnd != 65160 || tp.rcvWscale != 7 {
		t.Fatalf("rcv_wnd %d, rcv_wscale %d; want 65160, 7", tp.rcvWnd, tp.rcvWscale)
	}
	tp.state = tcpEstablished
	n.tcpInitBufferSpace(k, tp)
	if tp.windowClamp != 64076 || tp.rcvSsthresh != 64076 {
		t.Fatalf("window_clamp %d, rcv_ssthresh %d; want 64076, 64076", tp.windowClamp, tp.rcvSsthresh)
	}
	if w := tp.selectWindow(header.TCPAck); w != 510 {
		t.Errorf("first window %d, want 510", w)
	}
	n.tcpGrowWindow(k, tp, rxSeg(t, k, 1448, 2304))
	if tp.rcvSsthresh != 64076 {
		t.Errorf("rcv_ssthresh grew to %d with no room below window_clamp", tp.rcvSsthresh)
	}

	tp.sk.RcvBuf, tp.windowClamp = 1<<20, 1<<19
	want := uint32(64076)
	for i := range 200 {
		tp.quick = 0
		tp.rcvNxt += 1448
		n.tcpGrowWindow(k, tp, rxSeg(t, k, 1448, 2304))
		want = min(want+2920, 1<<19)
		if tp.rcvSsthresh != want {
			t.Fatalf("segment %d: rcv_ssthresh %d, want %d", i, tp.rcvSsthresh, want)
		}
		if want < 1<<19 && tp.quick == 0 {
			t.Errorf("segment %d: growing the window did not ask for a quick ACK", i)
		}
		if w, ww := tp.selectWindow(header.TCPAck), (want+127)/128; uint32(w) != ww {
			t.Fatalf("segment %d: window %d, want %d", i, w, ww)
		}
		if want == 391116 { // the last step at or below 393216
			small := rxSeg(t, k, 200, 2304)
			n.tcpGrowWindow(k, tp, small)
			if want += 2896; tp.rcvSsthresh != want {
				t.Fatalf("small segment at 391116: rcv_ssthresh %d, want %d", tp.rcvSsthresh, want)
			}
			n.tcpGrowWindow(k, tp, small)
			if tp.rcvSsthresh != want {
				t.Fatalf("small segment above 393216: rcv_ssthresh %d, want %d", tp.rcvSsthresh, want)
			}
		}
	}
	if want != 1<<19 {
		t.Fatalf("the test never reached window_clamp: %d", want)
	}
}
