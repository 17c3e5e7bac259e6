package web

import (
	"fmt"
	"strconv"
	"strings"

	"skbscope/stack/trace"
)

// cwndPoint is a TCP socket's congestion state after one event.
type cwndPoint struct {
	seq            int
	t              int64
	cwnd, ssthresh int // segments; ssthresh is huge until the first loss
}

// cwndSeries is one socket's congestion window over time, read from the
// Vals the TCP model attaches to tcp_ack's return and to state changes.
type cwndSeries struct {
	host, sock string
	pts        []cwndPoint
	plot       string // the SVG without the cursor, drawn once (plotCwnd)
}

// initialSsthresh is TCP_INFINITE_SSTHRESH: no loss seen yet.
const initialSsthresh = 0x7fffffff

func cwndOf(t *trace.Trace) []cwndSeries {
	var out []cwndSeries
	idx := map[string]int{}
	for i := range t.Events {
		e := &t.Events[i]
		if len(e.Vals) == 0 {
			continue
		}
		var sk string
		cwnd, ssthresh := -1, -1
		for _, v := range e.Vals {
			switch v.Name {
			case "sk":
				sk = v.Value
			case "cwnd":
				cwnd, _ = strconv.Atoi(v.Value)
			case "ssthresh":
				ssthresh, _ = strconv.Atoi(v.Value)
			}
		}
		if sk == "" || cwnd < 0 {
			continue
		}
		key := e.Host + " " + sk
		j, ok := idx[key]
		if !ok {
			j = len(out)
			idx[key] = j
			out = append(out, cwndSeries{host: e.Host, sock: sk})
		}
		s := &out[j]
		if n := len(s.pts); n > 0 && s.pts[n-1].cwnd == cwnd && s.pts[n-1].ssthresh == ssthresh {
			continue // nothing new to draw
		}
		s.pts = append(s.pts, cwndPoint{seq: e.Seq, t: e.T, cwnd: cwnd, ssthresh: ssthresh})
	}
	for i := range out {
		out[i].plot = plotCwnd(out[i])
	}
	return out
}

// Plot geometry, in the SVG's own units.
const plotW, plotH, plotPadL, plotPadB = 320.0, 120.0, 28.0, 14.0

// span is the series' time range, never empty.
func (s cwndSeries) span() (t0, t1 int64) {
	t0, t1 = s.pts[0].t, s.pts[len(s.pts)-1].t
	if t1 == t0 {
		t1 = t0 + 1
	}
	return t0, t1
}

// plotX is where time t falls on the plot.
func (s cwndSeries) plotX(t int64) float64 {
	t0, t1 := s.span()
	return plotPadL + (plotW-plotPadL-4)*float64(t-t0)/float64(t1-t0)
}

// plotCwnd draws one socket's cwnd (a step line) and ssthresh (dashed,
// once finite) against virtual time: everything but the cursor, which
// cwndSVG adds for each frame.
func plotCwnd(s cwndSeries) string {
	if len(s.pts) == 0 {
		return ""
	}
	t0, t1 := s.span()
	top := 1
	for _, p := range s.pts {
		top = max(top, p.cwnd)
		if p.ssthresh < initialSsthresh {
			top = max(top, p.ssthresh)
		}
	}
	y := func(v int) float64 { return 4 + (plotH-plotPadB-4)*(1-float64(v)/float64(top)) }
	var cw, st strings.Builder
	for i, p := range s.pts {
		if i > 0 {
			fmt.Fprintf(&cw, " %.1f,%.1f", s.plotX(p.t), y(s.pts[i-1].cwnd))
		}
		fmt.Fprintf(&cw, " %.1f,%.1f", s.plotX(p.t), y(p.cwnd))
		if p.ssthresh < initialSsthresh {
			fmt.Fprintf(&st, " %.1f,%.1f", s.plotX(p.t), y(p.ssthresh))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="cwnd-plot" viewBox="0 0 %.0f %.0f" role="img" aria-label="cwnd of %s on %s">`, plotW, plotH, s.sock, s.host)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/>`, plotPadL, plotH-plotPadB, plotW-4, plotH-plotPadB)
	fmt.Fprintf(&b, `<text x="2" y="12" class="tick">%d</text><text x="2" y="%.0f" class="tick">0</text>`, top, plotH-plotPadB)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="tick">%.1f ms</text>`, plotW-60, plotH-2, float64(t1-t0)/1e6)
	fmt.Fprintf(&b, `<polyline class="cwnd" points="%s"/>`, strings.TrimSpace(cw.String()))
	if st.Len() > 0 {
		fmt.Fprintf(&b, `<polyline class="ssthresh" points="%s"/>`, strings.TrimSpace(st.String()))
	}
	return b.String()
}

// cwndSVG is the series' plot with the cursor's time marked.
func cwndSVG(s cwndSeries, cursorT int64) string {
	if s.plot == "" {
		return ""
	}
	if t0, t1 := s.span(); cursorT < t0 || cursorT > t1 {
		return s.plot + `</svg>`
	}
	x := s.plotX(cursorT)
	return s.plot + fmt.Sprintf(`<line x1="%.1f" y1="4" x2="%.1f" y2="%.0f" class="cursor"/></svg>`, x, x, plotH-plotPadB)
}
