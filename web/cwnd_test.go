package web

import (
	"strings"
	"testing"

	"skbscope/scenario"
)

// TestCwndSeries: tcp-cwnd's sender starts at the initial window of 10
// and grows it; the plot draws it.
func TestCwndSeries(t *testing.T) {
	tr, err := scenario.Run("tcp-cwnd")
	if err != nil {
		t.Fatal(err)
	}
	var best cwndSeries
	for _, s := range cwndOf(tr) {
		if len(s.pts) > len(best.pts) {
			best = s
		}
	}
	if len(best.pts) < 5 {
		t.Fatalf("the busiest socket has %d points", len(best.pts))
	}
	peak := 0
	for _, p := range best.pts {
		peak = max(peak, p.cwnd)
	}
	if best.pts[0].cwnd != 10 || peak <= 10 {
		t.Errorf("cwnd starts at %d and peaks at %d; want 10 growing", best.pts[0].cwnd, peak)
	}
	svg := cwndSVG(best, best.pts[len(best.pts)/2].t)
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, `class="cwnd"`) || !strings.Contains(svg, `class="cursor"`) {
		t.Errorf("plot: %.300s", svg)
	}
}
