package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ladderWindow is how many rungs the ladder shows around the cursor.
const ladderWindow = 12

// ladderPanel is the sequence diagram of the frames on the wires: one
// row per frame, an arrow from the sender's column to the receiver's,
// labelled as tcpdump would print the frame. Rows are links to the wire
// event; the frame at or before the cursor is highlighted.
func ladderPanel(l lang, m *Model, c int) app.UI {
	rs := m.wireView().rungs
	body := []app.UI{el("h2", "", "", l.t("Frames on the wire"))}
	if len(rs) == 0 {
		return box("section", "ladder", "panel", append(body, el("p", "", "muted", l.t("No frame has crossed a wire.")))...)
	}
	cur := sort.Search(len(rs), func(i int) bool { return rs[i].seq > c }) - 1
	lo := max(0, min(cur-ladderWindow/2, len(rs)-ladderWindow))
	hi := min(len(rs), lo+ladderWindow)
	hosts := make([]app.UI, len(m.T.Hosts))
	for i, h := range m.T.Hosts {
		hosts[i] = el("span", "", "ladder-host", h.Name)
	}
	rows := []app.UI{box("div", "", "ladder-row ladder-head", el("span", "", "ladder-t", "t (µs)"), box("div", "", "ladder-lanes", hosts...))}
	n := max(1, len(m.T.Hosts))
	for i := lo; i < hi; i++ {
		r := rs[i]
		left, right := min(r.from, r.to), max(r.from, r.to)
		dir := "→"
		if r.to < r.from {
			dir = "←"
		} else if r.to == r.from {
			dir = "⟲"
		}
		cls := "ladder-row proto-" + r.proto
		if i == cur {
			cls += " cur"
		}
		if r.lost {
			cls += " lost"
		}
		arrow := app.Elem("div").Class("ladder-arrow").
			Style("margin-left", fmt.Sprintf("%.2f%%", 100*(float64(left)+0.5)/float64(n))).
			Style("width", fmt.Sprintf("%.2f%%", 100*float64(max(right-left, 0))/float64(n))).
			Text(dir + " " + r.label)
		if r.lost {
			arrow = arrow.Title(l.t("lost on the wire"))
		}
		rows = append(rows, app.Elem("div").Class(cls).Attr("data-seq", r.seq).OnClick(gotoClicked).Body(
			el("span", "", "ladder-t", micros(r.t)),
			box("div", "", "ladder-lanes", arrow),
		))
	}
	body = append(body, box("div", "", "ladder", rows...),
		el("p", "", "muted", fmt.Sprintf(l.t("frame %d of %d"), cur+1, len(rs))))
	return box("section", "ladder", "panel", body...)
}

// tcpPanel shows, for each TCP socket seen so far, its last state (the
// Vals the model attaches to tcp_ack's return and state changes) and its
// congestion window over time, the cursor marked.
func tcpPanel(l lang, m *Model, c int) app.UI {
	series := m.wireView().cwnd
	body := []app.UI{el("h2", "", "", l.t("TCP"))}
	shown := 0
	for _, s := range series {
		if len(s.pts) == 0 || s.pts[0].seq > c {
			continue
		}
		last := s.pts[sort.Search(len(s.pts), func(i int) bool { return s.pts[i].seq > c })-1].seq
		var cells []app.UI
		for _, v := range m.T.Events[last].Vals {
			if v.Name == "sk" {
				continue
			}
			cells = append(cells, box("span", "", "tcp-val", el("span", "", "muted", v.Name+" "), el("span", "", "mono", v.Value)))
		}
		body = append(body,
			el("h3", "", "mono", s.host+" "+s.sock),
			box("div", "", "tcp-vals", cells...),
			app.Raw(cwndSVG(s, m.T.Events[c].T)),
		)
		shown++
	}
	if shown == 0 {
		body = append(body, el("p", "", "muted", l.t("No TCP socket yet.")))
	}
	return box("section", "tcp", "panel", body...)
}

// hasTCP reports whether the trace has TCP sockets to show.
func (m *Model) hasTCP() bool { return len(m.wireView().cwnd) > 0 }

// pcapHref is the trace's frames as a pcap file in a data: URL, for a
// download link (Wireshark and tcpdump -r read it).
func pcapHref(m *Model) string {
	var b bytes.Buffer
	if err := m.T.WritePcap(&b, ""); err != nil {
		return ""
	}
	return "data:application/vnd.tcpdump.pcap;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

// pcapName is the download's file name.
func pcapName(m *Model) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(m.T.Scenario))
	if name == "" {
		name = "skbscope"
	}
	return name + ".pcap"
}
