package web

import (
	"sort"
	"strings"

	"skbscope/stack/trace"
)

// laneOrder is the stack map's top-to-bottom order of layers, from user
// space to the hardware. A layer the trace uses that is not listed gets a
// lane above the driver, in order of first appearance, so a new subsystem in
// the simulation shows up without a UI change.
var laneOrder = []string{
	"syscall", "socket", "sched", "tcp", "udp", "icmp", "ip", "route", "skb", "netfilter",
	"neigh", "arp", "dev", "qdisc", "softirq", "timer", "napi", "irq", "driver", "nic",
}

// unknownBefore is where unlisted layers go.
const unknownBefore = "driver"

// Geometry of the stack map, in CSS pixels of the canvas's own coordinate
// space (the canvas is scaled to its container by CSS).
const (
	pad        = 12
	hostHead   = 36
	laneLabelW = 64
	boxW       = 132
	boxH       = 20
	gapX       = 6
	gapY       = 5
	lanePadY   = 5
	mapCols    = 8 // box columns across the whole map
	minCols    = 2 // box columns a host gets however quiet it is
	wireGapW   = 120
	wireBoxW   = 104
)

// Station kinds.
const (
	stFn    = iota // a kernel function
	stQueue        // a queue: slots that fill and drain
	stWire         // a link between hosts
	stOther        // an event with neither function nor queue (e.g. a hardware IRQ line)
)

// station is one box on the stack map.
type station struct {
	kind       int
	host, lane int // lane is -1 for wires
	label      string
	file       string
	first      int // seq of the first event at this station
	maxQ       int // queues: the most items ever queued, for the slot count
	x, y, w, h float32
}

// hostCol is one host's column.
type hostCol struct {
	name string
	info string // devices, as `ip -br addr` would summarise them
	cols int    // boxes per lane row
	x, w float32
}

// lane is one layer's band, shared by all host columns so that the same
// layer lines up across hosts.
type lane struct {
	name string
	y, h float32
}

// qpoint is a queue's length after event seq.
type qpoint struct{ seq, qlen int }

// skbLife is every event that mentions one skb.
type skbLife struct {
	id   int
	seqs []int
}

// Model is everything the views need that depends on the trace alone. It
// is built once per trace; each frame and panel is then a function of the
// model and the cursor.
type Model struct {
	T        *trace.Trace
	Hosts    []hostCol
	Lanes    []lane
	Stations []station
	W, H     float32

	evStation []int            // per event: the station the event happens at
	queues    map[int][]qpoint // per queue station: its length over time
	skbs      []skbLife        // ordered by skb id
	lastSkb   []int            // per event: the skb most recently mentioned at or before it, -1 none
	retOf     []int32          // per call event: its return, -1 none
	drops     map[int][]int    // per station: the drop events there, in order
	socks     []sockQueue      // socket queues, by host and socket
	chaps     []chapter        // lazily, see chapterList
	wire      *wireViews       // lazily, see wireView
	tcpSt     []tcpSock        // lazily, see tcpStates

	layersOnly bool   // the map's "layers only" zoom: one station per layer
	layers     *Model // lazily, see layerView
}

// wireViews are the ladder and TCP panels' data, read from the trace
// once, on first use.
type wireViews struct {
	rungs []rung
	cwnd  []cwndSeries
}

// wireView computes the ladder rungs and cwnd series the first time a
// panel asks.
func (m *Model) wireView() *wireViews {
	if m.wire == nil {
		m.wire = &wireViews{rungs: ladderOf(m.T), cwnd: cwndOf(m.T)}
	}
	return m.wire
}

// NewModel lays out the stack map for t. It never fails: a trace with no
// events gives an empty map, and malformed links (Up out of range) are
// treated as absent.
func NewModel(t *trace.Trace) *Model { return newModel(t, false) }

// newModel lays out t with a station per function and queue, or, with
// layersOnly, a station per layer (see zoom.go).
func newModel(t *trace.Trace, layersOnly bool) *Model {
	m := &Model{T: t, queues: map[int][]qpoint{}, layersOnly: layersOnly}
	m.hosts()
	lanes := m.laneNames()
	laneIdx := map[string]int{}
	for i, n := range lanes {
		laneIdx[n] = i
		m.Lanes = append(m.Lanes, lane{name: n})
	}
	hostIdx := map[string]int{}
	for i, h := range m.Hosts {
		hostIdx[h.name] = i
	}

	type key struct {
		kind, host int
		lane       string
		label      string
	}
	byKey := map[key]int{}
	m.evStation = make([]int, len(t.Events))
	for i := range t.Events {
		e := &t.Events[i]
		k := key{host: hostIdx[e.Host], lane: m.laneOf(i)}
		switch {
		case m.layersOnly && e.Kind != trace.Wire:
			k.kind, k.label = stFn, layerTitle(k.lane)
		case e.Fn != "":
			k.kind, k.label = stFn, e.Fn
		case e.Kind == trace.Wire:
			k.kind, k.label, k.host, k.lane = stWire, e.Wire, 0, ""
			if k.label == "" {
				k.label = "wire"
			}
		case e.Queue != "":
			k.kind, k.label = stQueue, e.Queue
		case m.up(i) >= 0:
			m.evStation[i] = m.evStation[m.up(i)]
			continue
		default:
			k.kind, k.label = stOther, otherLabel(e.Kind)
		}
		s, ok := byKey[k]
		if !ok {
			s = len(m.Stations)
			byKey[k] = s
			li := -1
			if k.kind != stWire {
				li = laneIdx[k.lane]
			}
			m.Stations = append(m.Stations, station{kind: k.kind, host: k.host, lane: li, label: k.label, file: e.File, first: i})
		}
		m.evStation[i] = s
		if e.Kind == trace.Enqueue || e.Kind == trace.Dequeue {
			st := &m.Stations[s]
			st.maxQ = max(st.maxQ, e.QLen)
			m.queues[s] = append(m.queues[s], qpoint{i, e.QLen})
		}
	}
	m.place()
	m.skbTimelines()
	m.returns()
	m.dropSites()
	m.sockets()
	return m
}

// otherLabel names a station for events outside any function, such as a
// NIC raising its interrupt.
func otherLabel(k trace.Kind) string {
	switch k {
	case trace.IRQ:
		return "IRQ raised"
	case trace.State:
		return "state change"
	case trace.Timer:
		return "timer fires"
	}
	return string(k)
}

// up is the enclosing call of event i, or -1. A link that does not point
// back in time is ignored, so a bad trace cannot loop the views.
func (m *Model) up(i int) int {
	u := m.T.Events[i].Up
	if u < 0 || u >= i {
		return -1
	}
	return u
}

// laneOf is the layer event i is drawn in: its own, else its caller's,
// else the lane of the context it runs in ("wire" for the link).
func (m *Model) laneOf(i int) string {
	if m.layersOnly {
		return m.layerOf(i)
	}
	for j := i; j >= 0; j = m.up(j) {
		if l := m.T.Events[j].Layer; l != "" {
			return l
		}
	}
	e := &m.T.Events[i]
	if e.Kind == trace.Wire {
		return "wire"
	}
	return ctxLane[ctxClass(e.Ctx)]
}

// ctxLane places an event that has neither layer nor caller by its
// context: a task at the system call boundary, an interrupt with the
// interrupt code, hardware at the NIC.
var ctxLane = map[string]string{
	"task":    "syscall",
	"softirq": "softirq",
	"hardirq": "irq",
	"timer":   "timer",
	"hw":      "nic",
}

func (m *Model) hosts() {
	seen := map[string]bool{}
	add := func(name, info string) {
		if !seen[name] {
			seen[name] = true
			m.Hosts = append(m.Hosts, hostCol{name: name, info: info})
		}
	}
	for _, h := range m.T.Hosts {
		var parts []string
		for _, d := range h.Devices {
			parts = append(parts, strings.TrimSpace(d.Name+" "+d.Driver+" "+d.Addr))
		}
		add(h.Name, strings.Join(parts, ", "))
	}
	for i := range m.T.Events {
		add(m.T.Events[i].Host, "")
	}
}

// laneNames returns the lanes the trace uses, in drawing order.
func (m *Model) laneNames() []string {
	used := map[string]bool{}
	var unknown []string
	known := map[string]bool{}
	order := laneOrder
	if m.layersOnly {
		order = layerOrder
	}
	for _, l := range order {
		known[l] = true
	}
	for i := range m.T.Events {
		e := &m.T.Events[i]
		if e.Kind == trace.Wire {
			continue
		}
		l := m.laneOf(i)
		if !used[l] && !known[l] {
			unknown = append(unknown, l)
		}
		used[l] = true
	}
	var out []string
	for _, l := range order {
		if l == unknownBefore {
			out = append(out, unknown...)
		}
		if used[l] {
			out = append(out, l)
		}
	}
	return out
}

// place gives every station its box. Stations fill their lane row by row
// in order of first appearance; each lane is as tall as its fullest host.
// The map has mapCols box columns in all, shared out between the hosts so
// that the busiest host gets the width (see shareColumns).
func (m *Model) place() {
	nh := max(len(m.Hosts), 1)
	count := make([][]int, len(m.Lanes)) // lane -> host -> stations so far
	for l := range count {
		count[l] = make([]int, nh)
	}
	slot := make([]int, len(m.Stations))
	var wires []int
	for s := range m.Stations {
		st := &m.Stations[s]
		if st.kind == stWire {
			wires = append(wires, s)
			continue
		}
		slot[s] = count[st.lane][st.host]
		count[st.lane][st.host]++
	}
	cols := shareColumns(count, nh)
	x := float32(pad)
	for i := range m.Hosts {
		m.Hosts[i].cols = cols[i]
		m.Hosts[i].x = x
		m.Hosts[i].w = laneLabelW + float32(cols[i])*(boxW+gapX) + gapX
		x += m.Hosts[i].w + wireGapW
	}
	y := float32(pad + hostHead)
	for l := range m.Lanes {
		rows := 1
		for h, c := range count[l] {
			rows = max(rows, ceilDiv(c, cols[h]))
		}
		m.Lanes[l].y = y
		m.Lanes[l].h = 2*lanePadY + float32(rows)*boxH + float32(rows-1)*gapY
		y += m.Lanes[l].h
	}
	for s := range m.Stations {
		st := &m.Stations[s]
		if st.kind == stWire {
			continue
		}
		hc := &m.Hosts[st.host]
		row, col := slot[s]/hc.cols, slot[s]%hc.cols
		st.x = hc.x + laneLabelW + gapX + float32(col)*(boxW+gapX)
		st.y = m.Lanes[st.lane].y + lanePadY + float32(row)*(boxH+gapY)
		st.w, st.h = boxW, boxH
	}
	// Wires sit in the gap right of the first host, stacked up from the
	// bottom lane, where the NICs are.
	gapX0 := float32(pad)
	if len(m.Hosts) > 0 {
		gapX0 = m.Hosts[0].x + m.Hosts[0].w
	}
	bottom := y
	if n := len(m.Lanes); n > 0 {
		bottom = m.Lanes[n-1].y + m.Lanes[n-1].h/2 + boxH/2
	}
	for k, s := range wires {
		st := &m.Stations[s]
		st.x = gapX0 + (wireGapW-wireBoxW)/2
		st.y = bottom - boxH - float32(k)*(boxH+gapY)
		st.w, st.h = wireBoxW, boxH
	}
	m.W = x - wireGapW + pad
	if len(m.Hosts) < 2 {
		m.W += wireGapW // one host still shows its wire
	}
	m.H = y + pad
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// shareColumns gives each host at least minCols box columns and hands the
// rest of mapCols, one at a time, to the host whose column is tallest, as
// long as that makes it shorter.
func shareColumns(count [][]int, nh int) []int {
	cols := make([]int, nh)
	for h := range cols {
		cols[h] = minCols
	}
	height := func(h, c int) int {
		rows := 0
		for l := range count {
			rows += max(1, ceilDiv(count[l][h], c))
		}
		return rows
	}
	for left := mapCols - minCols*nh; left > 0; left-- {
		best, bestH := -1, 0
		for h := range cols {
			if hh := height(h, cols[h]); hh > bestH && height(h, cols[h]+1) < hh {
				best, bestH = h, hh
			}
		}
		if best < 0 {
			break
		}
		cols[best]++
	}
	return cols
}

func (m *Model) skbTimelines() {
	idx := map[int]int{}
	m.lastSkb = make([]int, len(m.T.Events))
	last := -1
	for i := range m.T.Events {
		for _, id := range m.T.Events[i].Skb {
			k, ok := idx[id]
			if !ok {
				k = len(m.skbs)
				idx[id] = k
				m.skbs = append(m.skbs, skbLife{id: id})
			}
			if s := m.skbs[k].seqs; len(s) == 0 || s[len(s)-1] != i {
				m.skbs[k].seqs = append(m.skbs[k].seqs, i)
			}
		}
		if s := m.T.Events[i].Skb; len(s) > 0 {
			last = s[0]
		}
		m.lastSkb[i] = last
	}
	sort.Slice(m.skbs, func(a, b int) bool { return m.skbs[a].id < m.skbs[b].id })
}

// Len is the number of events.
func (m *Model) Len() int { return len(m.T.Events) }

// Clamp keeps a cursor inside the trace.
func (m *Model) Clamp(c int) int {
	return max(0, min(c, m.Len()-1))
}

// queueLen is the length of queue station s just after event c.
func (m *Model) queueLen(s, c int) int {
	q := m.queues[s]
	k := sort.Search(len(q), func(i int) bool { return q[i].seq > c })
	if k == 0 {
		return 0
	}
	return q[k-1].qlen
}

// skbAt says where skb life l is at cursor c: the station of the latest
// event mentioning it, or -1 when it does not exist yet or is gone (freed
// or dropped before c).
func (m *Model) skbAt(l *skbLife, c int) (st, seq int) {
	k := sort.Search(len(l.seqs), func(i int) bool { return l.seqs[i] > c })
	if k == 0 {
		return -1, -1
	}
	seq = l.seqs[k-1]
	if e := &m.T.Events[seq]; seq < c && (e.Kind == trace.Free || e.Kind == trace.Drop) {
		return -1, -1
	}
	return m.evStation[seq], seq
}

// ctxClass reduces a context to the four colours of the map.
func ctxClass(ctx string) string {
	switch {
	case strings.HasPrefix(ctx, "task:"):
		return "task"
	case strings.HasPrefix(ctx, "softirq:"):
		return "softirq"
	case strings.HasPrefix(ctx, "hardirq:"):
		return "hardirq"
	case strings.HasPrefix(ctx, "timer:"):
		return "timer"
	}
	return "hw"
}

// stack is the call stack at event i, innermost first, as trace.Stack
// gives it but walking only links that point back in time.
func (m *Model) stack(i int) []int {
	var s []int
	if m.T.Events[i].Kind == trace.Call {
		s = append(s, i)
	}
	for u := m.up(i); u >= 0; u = m.up(u) {
		s = append(s, u)
	}
	return s
}

// snapOf is trace.SnapOf with every index checked: the latest snapshot of
// skb id at or before event i, or nil.
func (m *Model) snapOf(i, id int) *trace.SkbSnap {
	for ; i >= 0; i-- {
		e := &m.T.Events[i]
		for k, s := range e.Skb {
			if s == id && k < len(e.Snap) && e.Snap[k] >= 0 && e.Snap[k] < len(m.T.Snaps) {
				return &m.T.Snaps[e.Snap[k]]
			}
		}
	}
	return nil
}

// fnOf is the function event i happens in: its own, or its caller's.
func (m *Model) fnOf(i int) (fn, file string) {
	for j := i; j >= 0; j = m.up(j) {
		if e := &m.T.Events[j]; e.Fn != "" {
			return e.Fn, e.File
		}
	}
	return "", ""
}
