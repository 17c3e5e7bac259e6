package web

import (
	"skbscope/stack/trace"
)

// The debugger's moves. Each is a function of the trace and the cursor
// alone; a move with nowhere to go returns the cursor unchanged.

// sameCtx reports whether events a and b run in the same context: one
// task, softirq or interrupt on one CPU of one host. Stepping stays in a
// context as gdb stays in a thread.
func (m *Model) sameCtx(a, b int) bool {
	x, y := &m.T.Events[a], &m.T.Events[b]
	return x.Host == y.Host && x.CPU == y.CPU && x.Ctx == y.Ctx
}

// stepInto is the next event of the cursor's context, whatever its depth:
// into a call, as gdb's step.
func (m *Model) stepInto(c int) int {
	for i := c + 1; i < m.Len(); i++ {
		if m.sameCtx(c, i) {
			return i
		}
	}
	return c
}

// stepOver is the next event of the cursor's context at the same depth or
// shallower, as gdb's next: a call's insides are passed over.
func (m *Model) stepOver(c int) int {
	d := m.T.Events[c].Depth
	for i := c + 1; i < m.Len(); i++ {
		if m.sameCtx(c, i) && m.T.Events[i].Depth <= d {
			return i
		}
	}
	return c
}

// stepOut is the return of the frame the cursor is in, as gdb's finish.
// At a call the frame is that call; at a return it is the caller's, since
// the returning function is already done.
func (m *Model) stepOut(c int) int {
	f := -1
	switch m.T.Events[c].Kind {
	case trace.Call:
		f = c
	case trace.Ret:
		if u := m.up(c); u >= 0 {
			f = m.up(u)
		}
	default:
		f = m.up(c)
	}
	if f < 0 {
		return c
	}
	if r := int(m.retOf[f]); r > c {
		return r
	}
	return c
}

// nextWire is the next frame on a wire.
func (m *Model) nextWire(c int) int {
	for i := c + 1; i < m.Len(); i++ {
		if m.T.Events[i].Kind == trace.Wire {
			return i
		}
	}
	return c
}

// nextBreak is the next event at a station with a breakpoint, as gdb's
// continue.
func (m *Model) nextBreak(c int, bp map[int]bool) int {
	if len(bp) == 0 {
		return c
	}
	for i := c + 1; i < m.Len(); i++ {
		if bp[m.evStation[i]] {
			return i
		}
	}
	return c
}

// returns links every call to its return (-1: none yet), so that stepOut
// costs no scan.
func (m *Model) returns() {
	m.retOf = make([]int32, m.Len())
	for i := range m.retOf {
		m.retOf[i] = -1
	}
	for i := range m.T.Events {
		if m.T.Events[i].Kind == trace.Ret {
			if u := m.up(i); u >= 0 && m.retOf[u] < 0 {
				m.retOf[u] = int32(i)
			}
		}
	}
}

// stationAt is the station under map point (x, y), or -1.
func (m *Model) stationAt(x, y float32) int {
	for s := range m.Stations {
		st := &m.Stations[s]
		if x >= st.x && x < st.x+st.w && y >= st.y && y < st.y+st.h {
			return s
		}
	}
	return -1
}

// Marker kinds on the timeline.
const (
	markDrop = iota
	markIRQ
	markWire
	markKinds
)

var markClass = [markKinds]string{"m-drop", "m-irq", "m-wire"}

// markBins is how many places along the timeline a marker can take: a
// flood lesson's thousands of drops become at most this many ticks.
const markBins = 240

// mark is one tick on the timeline: where it is (0..1000, per mille) and
// the first event it stands for.
type mark struct {
	kind, pos, seq int
}

// marks are the timeline's ticks for drops, interrupts and wire frames.
func (m *Model) marks() []mark {
	var out []mark
	if m.Len() < 2 {
		return nil
	}
	var last [markKinds]int
	for k := range last {
		last[k] = -1
	}
	for i := range m.T.Events {
		k := -1
		switch m.T.Events[i].Kind {
		case trace.Drop, trace.Oops:
			k = markDrop
		case trace.IRQ:
			k = markIRQ
		case trace.Wire:
			k = markWire
		}
		if k < 0 {
			continue
		}
		bin := i * markBins / m.Len()
		if bin == last[k] {
			continue
		}
		last[k] = bin
		out = append(out, mark{kind: k, pos: i * 1000 / (m.Len() - 1), seq: i})
	}
	return out
}
