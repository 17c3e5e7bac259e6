package ipv4_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestGrowWindowBulk: in a bulk transfer the receiver B starts with
// window_clamp and rcv_ssthresh at 65536 − 1460 = 64076 (its buffer of
// 131072 is worth 65536 of window, less one segment in reserve), so
// tcp_grow_window finds no room until autotuning enlarges the buffer;
// then rcv_ssthresh climbs in steps of at most 2 × 1460 = 2920, each
// starting where the last one ended, called only from
// tcp_event_data_recv.
func TestGrowWindowBulk(t *testing.T) {
	const size = 2_000_000
	r, tr := run(t, bulk(t, size, 3_000_000_000))
	if got := r.Received("B", "server"); len(got) != size {
		t.Fatalf("B received %d bytes, want %d", len(got), size)
	}
	ib := calls(tr, "B", "tcp_init_buffer_space")
	if len(ib) != 1 || !strings.HasPrefix(tr.Events[ib[0]].Note, "window_clamp 64076 ") || !strings.HasSuffix(tr.Events[ib[0]].Note, "rcv_ssthresh 64076") {
		t.Fatalf("tcp_init_buffer_space on B: %d calls, %q", len(ib), tr.Events[ib[0]].Note)
	}
	last, noRoom, grown := uint32(64076), 0, 0
	for _, g := range calls(tr, "B", "tcp_grow_window") {
		if p := parentFn(tr, g); p != "tcp_event_data_recv" {
			t.Fatalf("tcp_grow_window called from %s", p)
		}
		note := tr.Events[g].Note
		var from, to uint32
		if _, err := fmt.Sscanf(note, "rcv_ssthresh %d → %d", &from, &to); err == nil {
			if from != last || to <= from || to-from > 2920 {
				t.Fatalf("rcv_ssthresh %d → %d after %d", from, to, last)
			}
			last = to
			grown++
			continue
		}
		if strings.Contains(note, "no room") {
			if grown == 0 {
				noRoom++
			}
			continue
		}
		t.Fatalf("tcp_grow_window: %q", note)
	}
	if noRoom == 0 || grown < 10 {
		t.Errorf("no room %d times before growing, grown %d times", noRoom, grown)
	}
}
