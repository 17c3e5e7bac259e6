package web

import (
	"encoding/binary"
	"math"
	"strconv"

	"skbscope/stack/trace"
)

// The stack map is drawn by static/web/skbscope.js from a command buffer
// that Go fills for each frame, so a frame costs one buffer copy and one
// JavaScript call however many boxes it has. Numbers are little-endian
// float32, colours 0xRRGGBBAA uint32; the opcodes must match skbDraw.
const (
	opClear = 1 // w h colour: size the canvas and fill it
	opRect  = 2 // x y w h radius fill stroke lineWidth
	opText  = 3 // x y size colour flags(u8: 1 bold, 2 monospace) align(u8: 0 left, 1 centre, 2 right) maxW len(u16) utf8
	opLine  = 4 // x1 y1 x2 y2 colour lineWidth dash(u8)
)

// cmdBuf accumulates one frame's commands; reset reuses its memory so a
// steady animation does not allocate.
type cmdBuf struct{ b []byte }

func (d *cmdBuf) reset() { d.b = d.b[:0] }

func (d *cmdBuf) f(vs ...float32) {
	for _, v := range vs {
		d.b = binary.LittleEndian.AppendUint32(d.b, math.Float32bits(v))
	}
}

func (d *cmdBuf) u(v uint32) { d.b = binary.LittleEndian.AppendUint32(d.b, v) }

func (d *cmdBuf) clear(w, h float32, c uint32) {
	d.b = append(d.b, opClear)
	d.f(w, h)
	d.u(c)
}

func (d *cmdBuf) rect(x, y, w, h, r float32, fill, stroke uint32, lw float32) {
	d.b = append(d.b, opRect)
	d.f(x, y, w, h, r)
	d.u(fill)
	d.u(stroke)
	d.f(lw)
}

// Text flags and alignments.
const (
	bold  = 1
	mono  = 2
	left  = 0
	centr = 1
	right = 2
)

func (d *cmdBuf) text(x, y, size float32, c uint32, flags, align byte, maxW float32, s string) {
	if len(s) > math.MaxUint16 {
		s = s[:math.MaxUint16]
	}
	d.b = append(d.b, opText)
	d.f(x, y, size)
	d.u(c)
	d.b = append(d.b, flags, align)
	d.f(maxW)
	d.b = binary.LittleEndian.AppendUint16(d.b, uint16(len(s)))
	d.b = append(d.b, s...)
}

func (d *cmdBuf) line(x1, y1, x2, y2 float32, c uint32, lw float32, dash bool) {
	d.b = append(d.b, opLine)
	d.f(x1, y1, x2, y2)
	d.u(c)
	d.f(lw)
	if dash {
		d.b = append(d.b, 1)
	} else {
		d.b = append(d.b, 0)
	}
}

// Colours of the map. Contexts use the same hues as the CSS classes
// ctx-task, ctx-softirq, ctx-hardirq, ctx-timer and ctx-hw.
const (
	colBg        = 0xf8fafcff
	colLaneA     = 0xeef2f7ff
	colLaneB     = 0xf8fafcff
	colLaneLabel = 0x64748bff
	colHost      = 0x0f172aff
	colHostInfo  = 0x64748bff
	colBox       = 0xffffffff
	colBoxLine   = 0xcbd5e1ff
	colFaintLine = 0xe2e8f0ff
	colText      = 0x0f172aff
	colFaintText = 0xa0aec0ff
	colWire      = 0x475569ff
	colSlot      = 0xe2e8f0ff
	colSlotFull  = 0x334155ff
	colCard      = 0xfefce8ff
	colCardLine  = 0x854d0eff
	colDrop      = 0xdc2626ff
)

// ctxColour is the Okabe-Ito palette, told apart with every common
// colour-vision deficiency (the projector theme relies on it).
var ctxColour = map[string]uint32{
	"task":    0x0072b2ff,
	"softirq": 0xe69f00ff,
	"hardirq": 0xd55e00ff,
	"timer":   0xcc79a7ff,
	"hw":      0x009e73ff,
}

// tint is a context colour mixed into white, opaque so that the call
// lines drawn under the boxes stay hidden behind them.
func tint(c uint32) uint32 {
	mix := func(shift uint) uint32 {
		v := c >> shift & 0xff
		return (v*15 + 255*85) / 100 << shift
	}
	return mix(24) | mix(16) | mix(8) | 0xff
}

// Card size: a tag that straddles the top edge of its station.
const (
	cardW = 50
	cardH = 15
)

// Frame is what moves: the cursor the cards come from, the cursor they go
// to and how far along (0..1, already eased) they are.
type Frame struct {
	From, To int
	P        float32
	Breaks   map[int]bool // stations with a breakpoint
}

// Draw writes the commands for one frame. Everything but the cards'
// positions is a function of the cursor fr.To; the cards ease from where
// they were at fr.From.
func (m *Model) Draw(d *cmdBuf, fr Frame) {
	d.reset()
	d.clear(m.W, m.H, colBg)
	if m.Len() == 0 {
		return
	}
	c := m.Clamp(fr.To)
	cur := &m.T.Events[c]
	cc := ctxColour[ctxClass(cur.Ctx)]

	for h := range m.Hosts {
		hc := &m.Hosts[h]
		d.text(hc.x+4, pad+14, 15, colHost, bold, left, 0, "host "+hc.name)
		d.text(hc.x+4, pad+29, 11, colHostInfo, mono, left, hc.w-8, hc.info)
		for l := range m.Lanes {
			ln := &m.Lanes[l]
			bg := uint32(colLaneA)
			if l%2 == 1 {
				bg = colLaneB
			}
			d.rect(hc.x, ln.y, hc.w, ln.h, 0, bg, 0, 0)
			d.text(hc.x+6, ln.y+lanePadY+15, 11, colLaneLabel, bold, left, laneLabelW-8, ln.name)
		}
	}
	m.drawWire(d)

	onStack := map[int]bool{}
	stack := m.stack(c)
	for _, seq := range stack {
		onStack[m.evStation[seq]] = true
	}
	// The call chain at the cursor, as lines from caller to callee.
	for k := 0; k+1 < len(stack); k++ {
		m.connect(d, m.evStation[stack[k+1]], m.evStation[stack[k]], cc)
	}

	curSt := m.evStation[c]
	for s := range m.Stations {
		m.drawStation(d, s, c, s == curSt, onStack[s], cc)
		if fr.Breaks[s] {
			st := &m.Stations[s]
			d.rect(st.x-4, st.y+st.h/2-4, 8, 8, 4, colDrop, colBg, 1.5)
		}
	}
	m.drawDrops(d, c)
	m.drawCards(d, fr, c, cc)
}

// drawDrops marks every station where skbs have been dropped by cursor c
// with a count, and the drop at the cursor with its reason.
func (m *Model) drawDrops(d *cmdBuf, c int) {
	for s := range m.Stations {
		n := upTo(m.drops[s], c)
		if n == 0 {
			continue
		}
		st := &m.Stations[s]
		label := "✕ " + strconv.Itoa(n)
		d.rect(st.x+2, st.y+st.h-3, 34, 12, 3, colDrop, 0, 0)
		d.text(st.x+19, st.y+st.h+6, 9, colBg, bold, centr, 32, label)
	}
	if e := &m.T.Events[c]; e.Kind == trace.Drop {
		st := &m.Stations[m.evStation[c]]
		reason := e.Reason
		if reason == "" {
			reason = "dropped"
		}
		w := float32(max(len(reason), 8))*6 + 10
		d.rect(st.x, st.y+st.h+10, w, 16, 3, 0xfef2f2ff, colDrop, 1.5)
		d.text(st.x+5, st.y+st.h+22, 10, colDrop, bold|mono, left, w-10, reason)
	}
}

// connect draws a caller-to-callee line between the facing edges of two
// stations: side to side in one row, else bottom to top (or top to bottom
// for a call back up the stack, such as IP allocating from the skb layer).
func (m *Model) connect(d *cmdBuf, from, to int, c uint32) {
	a, b := &m.Stations[from], &m.Stations[to]
	switch {
	case from == to:
	case a.y == b.y && a.x < b.x:
		d.line(a.x+a.w, a.y+a.h/2, b.x, b.y+b.h/2, c, 1.5, false)
	case a.y == b.y:
		d.line(a.x, a.y+a.h/2, b.x+b.w, b.y+b.h/2, c, 1.5, false)
	case a.y < b.y:
		d.line(a.x+a.w/2, a.y+a.h, b.x+b.w/2, b.y, c, 1.5, false)
	default:
		d.line(a.x+a.w/2, a.y, b.x+b.w/2, b.y+b.h, c, 1.5, false)
	}
}

func (m *Model) drawWire(d *cmdBuf) {
	if len(m.Lanes) == 0 || len(m.Hosts) < 2 {
		return
	}
	ln := &m.Lanes[len(m.Lanes)-1]
	y := ln.y + ln.h/2
	x1 := m.Hosts[0].x + m.Hosts[0].w
	x2 := m.Hosts[1].x
	d.line(x1, y, x2, y, colWire, 2, false)
}

func (m *Model) drawStation(d *cmdBuf, s, c int, current, onStack bool, cc uint32) {
	st := &m.Stations[s]
	visited := st.first <= c
	fill, line, lw, txt := uint32(colBox), uint32(colFaintLine), float32(1), uint32(colFaintText)
	if visited {
		line, txt = colBoxLine, colText
	}
	if onStack {
		fill, line, lw = tint(cc), cc, 1.5
	}
	if current {
		fill, line, lw = tint(cc), cc, 3
	}
	if st.kind == stWire {
		fill = 0xf1f5f9ff
		if current {
			fill = tint(cc)
		}
	}
	d.rect(st.x, st.y, st.w, st.h, 4, fill, line, lw)
	flags := byte(mono)
	if current {
		flags |= bold
	}
	switch st.kind {
	case stQueue:
		slots := min(max(st.maxQ, 3), 8)
		sw := float32(7)
		x0 := st.x + st.w - 4 - float32(slots)*sw
		n := m.queueLen(s, c)
		for k := range slots {
			col := uint32(colSlot)
			if k < n {
				col = colSlotFull
			}
			d.rect(x0+float32(k)*sw, st.y+4, sw-2, st.h-8, 1, col, 0, 0)
		}
		label := st.label
		if n > slots {
			label += " (" + strconv.Itoa(n) + ")"
		}
		d.text(st.x+5, st.y+14, 10, txt, flags, left, x0-st.x-8, label)
	case stWire:
		d.text(st.x+st.w/2, st.y+14, 10, txt, flags, centr, st.w-8, st.label)
	default:
		d.text(st.x+5, st.y+14, 11, txt, flags, left, st.w-10, st.label)
	}
}

// drawCards draws one card per skb that exists at the cursor, eased from
// where it was at fr.From.
func (m *Model) drawCards(d *cmdBuf, fr Frame, c int, cc uint32) {
	from := m.Clamp(fr.From)
	perStation := map[int]int{}
	cur := &m.T.Events[c]
	for k := range m.skbs {
		l := &m.skbs[k]
		st, seq := m.skbAt(l, c)
		if st < 0 {
			continue
		}
		n := perStation[st]
		perStation[st]++
		if n >= maxCards {
			continue
		}
		x, y := m.cardPos(st, n)
		if pst, _ := m.skbAt(l, from); pst >= 0 && fr.P < 1 && pst != st {
			px, py := m.cardPos(pst, 0)
			x, y = px+(x-px)*fr.P, py+(y-py)*fr.P
		}
		fill, line := uint32(colCard), uint32(colCardLine)
		if seq == c {
			line = cc
		}
		if e := &m.T.Events[seq]; e.Kind == trace.Drop {
			line = colDrop
		}
		involved := false
		for _, id := range cur.Skb {
			involved = involved || id == l.id
		}
		lw := float32(1)
		if involved {
			lw = 2
		}
		d.rect(x, y, cardW, cardH, 3, fill, line, lw)
		d.text(x+cardW/2, y+11, 10, colCardLine, bold|mono, centr, cardW-4, "skb "+strconv.Itoa(l.id))
	}
	// A station holding more skbs than it shows says how many.
	for st := range m.Stations {
		if n := perStation[st]; n > maxCards {
			x, y := m.cardPos(st, maxCards)
			d.rect(x, y, cardW, cardH, 3, colCardLine, 0, 0)
			d.text(x+cardW/2, y+11, 10, colCard, bold|mono, centr, cardW-4, "+"+strconv.Itoa(n-maxCards))
		}
	}
}

// maxCards is how many cards a station shows: a qdisc holding a thousand
// skbs draws a small stack and a count, which reads better and keeps a
// flood's frames cheap.
const maxCards = 5

// cardPos is the n-th card's place on station st.
func (m *Model) cardPos(st, n int) (x, y float32) {
	s := &m.Stations[st]
	return s.x + s.w - cardW - 2 - float32(n)*(cardW/3), s.y - cardH/2 - float32(n)*3
}

// Ease is the ease-in-out curve of card movement.
func Ease(p float32) float32 {
	switch {
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	return p * p * (3 - 2*p)
}
