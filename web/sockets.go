package web

import (
	"sort"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/stack/trace"
)

// sockQueue is one socket queue the trace uses, found by the recorder's
// naming convention "skN QUEUE" (a child socket is "skN.childM QUEUE").
type sockQueue struct {
	host, sock, queue string
	station           int
	enq, deq          []int // the events that enqueue and dequeue, in order
}

// sockName splits a queue name into socket and queue, or ok false when the
// queue is not a socket's.
func sockName(q string) (sock, queue string, ok bool) {
	sock, queue, ok = strings.Cut(q, " ")
	if !ok || len(sock) < 3 || !strings.HasPrefix(sock, "sk") || sock[2] < '0' || sock[2] > '9' {
		return "", "", false
	}
	return sock, queue, true
}

// sockets collects the socket queues, ordered by host, socket and first
// use.
func (m *Model) sockets() {
	idx := map[int]int{}
	for i := range m.T.Events {
		e := &m.T.Events[i]
		if e.Kind != trace.Enqueue && e.Kind != trace.Dequeue {
			continue
		}
		st := m.evStation[i]
		k, ok := idx[st]
		if !ok {
			sock, queue, isSock := sockName(e.Queue)
			if !isSock {
				continue
			}
			k = len(m.socks)
			idx[st] = k
			m.socks = append(m.socks, sockQueue{host: e.Host, sock: sock, queue: queue, station: st})
		}
		if e.Kind == trace.Enqueue {
			m.socks[k].enq = append(m.socks[k].enq, i)
		} else {
			m.socks[k].deq = append(m.socks[k].deq, i)
		}
	}
	sort.SliceStable(m.socks, func(a, b int) bool {
		x, y := &m.socks[a], &m.socks[b]
		if x.host != y.host {
			return x.host < y.host
		}
		return x.sock < y.sock
	})
}

// dropSites indexes the drops by station, for the map's drop badges.
func (m *Model) dropSites() {
	m.drops = map[int][]int{}
	for i := range m.T.Events {
		if m.T.Events[i].Kind == trace.Drop {
			s := m.evStation[i]
			m.drops[s] = append(m.drops[s], i)
		}
	}
}

// upTo is how many of the events in seqs happen at or before c.
func upTo(seqs []int, c int) int {
	return sort.Search(len(seqs), func(i int) bool { return seqs[i] > c })
}

// sockRow is one line of the socket panel at a cursor.
type sockRow struct {
	Host, Sock, Queue string
	Len, Enq, Deq     int
	Hot               bool // the cursor's event is on this queue
}

// sockRows are the socket queues at cursor c: those in use by then.
func (m *Model) sockRows(c int) []sockRow {
	var out []sockRow
	cur := m.evStation[c]
	for k := range m.socks {
		q := &m.socks[k]
		enq, deq := upTo(q.enq, c), upTo(q.deq, c)
		if enq+deq == 0 {
			continue
		}
		out = append(out, sockRow{Host: q.host, Sock: q.sock, Queue: q.queue,
			Len: m.queueLen(q.station, c), Enq: enq, Deq: deq, Hot: q.station == cur})
	}
	return out
}

// sockPanel lists, per host, the sockets seen so far with their queues.
func sockPanel(l lang, rows []sockRow) app.UI {
	body := []app.UI{el("h2", "", "", l.t("Sockets"))}
	if len(rows) == 0 {
		body = append(body, el("p", "", "muted", l.t("No socket queue used yet.")))
	} else {
		trs := make([]app.UI, len(rows))
		for i, r := range rows {
			tr := app.Elem("tr")
			if r.Hot {
				tr = tr.Class("cur")
			}
			trs[i] = tr.Body(
				el("td", "", "", r.Host), el("td", "", "mono", r.Sock), el("td", "", "mono", r.Queue),
				el("td", "", "num", strconv.Itoa(r.Len)),
				el("td", "", "num", strconv.Itoa(r.Enq)),
				el("td", "", "num", strconv.Itoa(r.Deq)),
			)
		}
		body = append(body, box("table", "", "socks",
			box("thead", "", "", box("tr", "", "",
				el("th", "", "", l.t("host")), el("th", "", "", l.t("socket")), el("th", "", "", l.t("queue")),
				el("th", "", "", l.t("qlen")), el("th", "", "", l.t("enqueued")), el("th", "", "", l.t("dequeued")),
			)),
			box("tbody", "", "", trs...),
		))
	}
	return box("section", "socks", "panel", body...)
}
