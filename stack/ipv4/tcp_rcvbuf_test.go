package ipv4_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestRcvSpaceAdjustReceiverRTT: receive-buffer autotuning paces itself
// by the receiver's own RTT estimate (rcv_rtt_est, from the timestamps
// its peer echoes), as 6.12 does, not by the sender-side srtt: over a
// path of 10 ms round trip, sk_rcvbuf grows while a bulk transfer runs,
// each step noting an RTT of at least 10 ms (more as the sender's queue
// grows: the samples include it), and never twice within that RTT.
func TestRcvSpaceAdjustReceiverRTT(t *testing.T) {
	f := bulk(t, 3_000_000, 3_000_000_000)
	f.Links[0].DelayNs = 5_000_000
	r, tr := run(t, f)
	if got := len(r.Received("B", "server")); got != 3_000_000 {
		t.Fatalf("B received %d bytes", got)
	}
	var last int64 = -1
	grew := 0
	for _, c := range calls(tr, "B", "tcp_rcv_space_adjust") {
		e := tr.Events[c]
		if !strings.Contains(e.Note, "sk_rcvbuf") {
			continue
		}
		grew++
		var copied, rtt, from, to int
		if _, err := fmt.Sscanf(e.Note, "%d bytes read in one receiver RTT (%d us): sk_rcvbuf %d → %d", &copied, &rtt, &from, &to); err != nil {
			t.Fatalf("note %q: %v", e.Note, err)
		}
		if rtt < 10_000 || rtt > 150_000 {
			t.Errorf("receiver RTT %d us on a 10 ms path", rtt)
		}
		if to <= from {
			t.Errorf("sk_rcvbuf %d → %d", from, to)
		}
		if last >= 0 && e.T-last < int64(rtt)*1000 {
			t.Errorf("sk_rcvbuf grew again after %d ns, within one RTT", e.T-last)
		}
		last = e.T
	}
	if grew == 0 {
		t.Error("sk_rcvbuf never grew")
	}
}
