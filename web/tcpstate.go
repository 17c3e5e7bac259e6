package web

import (
	"fmt"
	"sort"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/stack/trace"
)

// The TCP state machine as Linux 6.12 has it (include/net/tcp_states.h),
// drawn as the RFC 793 diagram with Linux's request sock added: a SYN on
// a listener makes a request_sock in TCP_NEW_SYN_RECV, and the full
// socket is born in TCP_SYN_RECV when the handshake's last ACK arrives.

// tcpNode is one state's box in the diagram, by its centre.
type tcpNode struct {
	state string // as the kernel names it, without "TCP_"
	x, y  float64
}

// Diagram geometry, in the SVG's own units.
const (
	tsW, tsH       = 450.0, 318.0
	tsBoxW, tsBoxH = 100.0, 20.0
)

var tcpNodes = []tcpNode{
	{"CLOSE", 225, 16},
	{"LISTEN", 110, 62},
	{"SYN_SENT", 350, 62},
	{"NEW_SYN_RECV", 58, 112},
	{"SYN_RECV", 190, 112},
	{"ESTABLISHED", 265, 160},
	{"FIN_WAIT1", 90, 208},
	{"CLOSE_WAIT", 385, 208},
	{"CLOSING", 215, 240},
	{"FIN_WAIT2", 70, 262},
	{"LAST_ACK", 385, 262},
	{"TIME_WAIT", 200, 300},
}

// tcpEdges are the transitions of the diagram, each with what causes it.
// A transition a trace takes that is not listed is drawn too.
var tcpEdges = [][3]string{
	{"CLOSE", "LISTEN", "listen()"},
	{"CLOSE", "SYN_SENT", "connect(): SYN"},
	{"LISTEN", "NEW_SYN_RECV", "SYN: request sock, SYN-ACK"},
	{"NEW_SYN_RECV", "SYN_RECV", "ACK: the child socket"},
	{"LISTEN", "CLOSE", "close()"},
	{"SYN_SENT", "ESTABLISHED", "SYN-ACK: ACK"},
	{"SYN_SENT", "SYN_RECV", "SYN: simultaneous open"},
	{"SYN_SENT", "CLOSE", "RST, timeout or close()"},
	{"SYN_RECV", "ESTABLISHED", "ACK"},
	{"SYN_RECV", "FIN_WAIT1", "close(): FIN"},
	{"ESTABLISHED", "FIN_WAIT1", "close(): FIN"},
	{"ESTABLISHED", "CLOSE_WAIT", "FIN: ACK"},
	{"ESTABLISHED", "CLOSE", "RST"},
	{"FIN_WAIT1", "FIN_WAIT2", "ACK of FIN"},
	{"FIN_WAIT1", "CLOSING", "FIN: ACK"},
	{"FIN_WAIT1", "TIME_WAIT", "FIN and ACK of FIN"},
	{"FIN_WAIT2", "TIME_WAIT", "FIN: ACK"},
	{"CLOSING", "TIME_WAIT", "ACK of FIN"},
	{"CLOSE_WAIT", "LAST_ACK", "close(): FIN"},
	{"LAST_ACK", "CLOSE", "ACK of FIN"},
	{"TIME_WAIT", "CLOSE", "2MSL (60 s)"},
}

// tcpMove is one transition of one socket, at event seq.
type tcpMove struct {
	seq      int
	from, to string
}

// tcpSock is one socket's life in the state machine.
type tcpSock struct {
	host, sock string
	moves      []tcpMove
}

func (s *tcpSock) key() string { return s.host + " " + s.sock }

// requestSuffix names a listener's request socks in the diagram's menu.
const requestSuffix = " request sock"

// tcpStatesOf reads every TCP socket's transitions from the trace: the
// state events that carry a socket's "sk" and "state", the birth of a
// child in SYN_RECV (tcp_create_openreq_child returns its name), and a
// listener's request socks, while its "request socks" queue holds any.
func tcpStatesOf(t *trace.Trace) []tcpSock {
	var out []tcpSock
	idx := map[string]int{}
	move := func(seq int, host, sock, from, to string) {
		k := host + " " + sock
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, tcpSock{host: host, sock: sock})
		}
		s := &out[i]
		if from == "" {
			from = "CLOSE"
			if n := len(s.moves); n > 0 {
				from = s.moves[n-1].to
			}
		}
		if from != to {
			s.moves = append(s.moves, tcpMove{seq, from, to})
		}
	}
	for i := range t.Events {
		e := &t.Events[i]
		switch {
		case e.Kind == trace.Ret && e.Fn == "tcp_create_openreq_child" && strings.HasPrefix(e.Ret, "sk"):
			move(i, e.Host, e.Ret, "NEW_SYN_RECV", "SYN_RECV")
		case e.Kind == trace.Enqueue || e.Kind == trace.Dequeue:
			sock, q, ok := sockName(e.Queue)
			if !ok || !strings.HasPrefix(q, "request socks") {
				continue
			}
			if e.Kind == trace.Enqueue {
				move(i, e.Host, sock+requestSuffix, "LISTEN", "NEW_SYN_RECV")
			} else if e.QLen == 0 {
				move(i, e.Host, sock+requestSuffix, "NEW_SYN_RECV", "SYN_RECV")
			}
		default:
			var sk, st string
			for _, v := range e.Vals {
				switch v.Name {
				case "sk":
					sk = v.Value
				case "state":
					st = v.Value
				}
			}
			if sk != "" && strings.HasPrefix(st, "TCP_") {
				move(i, e.Host, sk, "", strings.TrimPrefix(st, "TCP_"))
			}
		}
	}
	return out
}

// at is the socket's state after event c and the transition that led
// there ("" and nil before its first).
func (s *tcpSock) at(c int) (state string, last *tcpMove) {
	k := sort.Search(len(s.moves), func(i int) bool { return s.moves[i].seq > c })
	if k == 0 {
		return "", nil
	}
	return s.moves[k-1].to, &s.moves[k-1]
}

// tcpStates are the model's TCP sockets, read on first use.
func (m *Model) tcpStates() []tcpSock {
	if m.tcpSt == nil {
		m.tcpSt = tcpStatesOf(m.T)
		if m.tcpSt == nil {
			m.tcpSt = []tcpSock{}
		}
	}
	return m.tcpSt
}

// autoTCPSock is the socket the diagram follows unless the learner picks
// one: the one the cursor's event is about (its "sk" value, or its skb's
// socket), else the one whose state changed last.
func (m *Model) autoTCPSock(c int) int {
	socks := m.tcpStates()
	e := &m.T.Events[c]
	find := func(sk string) int {
		for i := range socks {
			if socks[i].host == e.Host && socks[i].sock == sk {
				if st, _ := socks[i].at(c); st != "" {
					return i
				}
			}
		}
		return -1
	}
	for _, v := range e.Vals {
		if v.Name == "sk" {
			if i := find(v.Value); i >= 0 {
				return i
			}
		}
	}
	if len(e.Skb) > 0 {
		if sn := m.snapOf(c, e.Skb[0]); sn != nil && sn.Sk != "" {
			if i := find(sn.Sk); i >= 0 {
				return i
			}
		}
	}
	best, bestSeq := -1, -1
	for i := range socks {
		if _, mv := socks[i].at(c); mv != nil && mv.seq > bestSeq {
			best, bestSeq = i, mv.seq
		}
	}
	return best
}

// tcpStateSVG draws the diagram for socket s at cursor c: its state lit,
// the states it went through marked, its last transition drawn bold, and
// drawn "now" when it happens at c.
func tcpStateSVG(s *tcpSock, c int) string {
	state, last := s.at(c)
	seen := map[string]bool{}
	for _, mv := range s.moves {
		if mv.seq <= c {
			seen[mv.from], seen[mv.to] = true, true
		}
	}
	pos := map[string]tcpNode{}
	for _, n := range tcpNodes {
		pos[n.state] = n
	}
	edges := append([][3]string(nil), tcpEdges...)
	for _, mv := range s.moves {
		known := false
		for _, e := range edges {
			known = known || e[0] == mv.from && e[1] == mv.to
		}
		if _, a := pos[mv.from]; !known && a {
			if _, b := pos[mv.to]; b {
				edges = append(edges, [3]string{mv.from, mv.to, ""})
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="tcp-diagram" class="tcp-states" viewBox="0 0 %.0f %.0f" role="img" aria-label="TCP state of %s on %s: %s">`,
		tsW, tsH, s.sock, s.host, stateLabel(state))
	b.WriteString(`<defs><marker id="ts-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>`)
	for _, e := range edges {
		a, z := pos[e[0]], pos[e[1]]
		x1, y1 := clipBox(a.x, a.y, z.x-a.x, z.y-a.y)
		x2, y2 := clipBox(z.x, z.y, a.x-z.x, a.y-z.y)
		cls := "ts-edge"
		if last != nil && last.from == e[0] && last.to == e[1] {
			cls += " taken"
			if last.seq == c {
				cls += " now"
			}
		}
		fmt.Fprintf(&b, `<line class="%s" data-from="%s" data-to="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" marker-end="url(#ts-arrow)"><title>%s → %s: %s</title></line>`,
			cls, e[0], e[1], x1, y1, x2, y2, e[0], e[1], e[2])
	}
	for _, n := range tcpNodes {
		cls := "ts-node"
		if seen[n.state] {
			cls += " seen"
		}
		if n.state == state {
			cls += " lit"
		}
		fmt.Fprintf(&b, `<g class="%s" data-state="%s"><rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" rx="4"/><text x="%.1f" y="%.1f">%s</text></g>`,
			cls, n.state, n.x-tsBoxW/2, n.y-tsBoxH/2, tsBoxW, tsBoxH, n.x, n.y+3.5, stateLabel(n.state))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// stateLabel is how the diagram names a state: as ss(8) prints it
// (CLOSE is "CLOSED" in the RFC and in ss).
func stateLabel(s string) string {
	switch s {
	case "":
		return "-"
	case "CLOSE":
		return "CLOSED"
	}
	return s
}

// clipBox moves from a box's centre (x, y) along (dx, dy) to its edge.
func clipBox(x, y, dx, dy float64) (float64, float64) {
	t := 1.0
	if dx != 0 {
		t = min(t, tsBoxW/2/abs(dx))
	}
	if dy != 0 {
		t = min(t, tsBoxH/2/abs(dy))
	}
	return x + dx*t, y + dy*t
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// tcpStateBox is the TCP state diagram panel. Pick is the socket the
// learner chose in its menu ("" follows the cursor's), kept by the
// component across steps.
type tcpStateBox struct {
	app.Compo
	M    *Model
	C    int
	L    lang
	pick string
}

// Render implements app.Composer.
func (b *tcpStateBox) Render() app.UI {
	l, m, c := b.L, b.M, b.C
	socks := m.tcpStates()
	cur := -1
	for i := range socks {
		if socks[i].key() == b.pick {
			cur = i
		}
	}
	if cur < 0 {
		cur = m.autoTCPSock(c)
	}
	body := []app.UI{el("h2", "", "", l.t("TCP state"))}
	opts := []app.UI{option(unset, b.pick == "", l.t("follow the cursor"))}
	for i := range socks {
		if st, _ := socks[i].at(c); st == "" && socks[i].key() != b.pick {
			continue // not born yet
		}
		k := socks[i].key()
		opts = append(opts, option(k, k == b.pick, k))
	}
	body = append(body, box("label", "", "", app.Text(l.t("socket")+" "),
		app.Elem("select").ID("tcp-sock").Body(opts...).OnChange(func(ctx app.Context, e app.Event) {
			b.pick = formValue(ctx.JSSrc().Get("value").String())
		})))
	if cur < 0 {
		return box("section", "tcp-state", "panel", append(body, el("p", "", "muted", l.t("No TCP socket yet.")))...)
	}
	s := &socks[cur]
	state, last := s.at(c)
	line := fmt.Sprintf(l.t("%s on %s: %s"), s.sock, s.host, stateLabel(state))
	if last != nil {
		when := l.t("last change at event %d")
		if last.seq == c {
			when = l.t("changes at this event (%d)")
		}
		line += " · " + stateLabel(last.from) + " → " + stateLabel(last.to) + ", " + fmt.Sprintf(when, last.seq)
	}
	body = append(body,
		app.Elem("p").ID("tcp-state-now").Class("mono").Attr("data-sock", s.key()).Attr("data-state", state).Text(line),
		app.Raw(tcpStateSVG(s, c)))
	return box("section", "tcp-state", "panel", body...)
}
