package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/stack/trace"
)

func lesson(t *testing.T) *Model {
	t.Helper()
	tr, err := scenario.Run("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	return NewModel(tr)
}

// checkBuf decodes a command buffer the way skbDraw does and fails on
// anything skbDraw would stop at.
func checkBuf(t *testing.T, b []byte) (ops int) {
	t.Helper()
	f := func(p int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[p:])) }
	for p := 0; p < len(b); ops++ {
		var n int
		switch b[p] {
		case opClear:
			n = 12
		case opRect:
			n = 32
		case opText:
			if p+25 > len(b) {
				t.Fatalf("short text op at %d", p)
			}
			n = 24 + int(binary.LittleEndian.Uint16(b[p+23:]))
		case opLine:
			n = 25
		default:
			t.Fatalf("bad opcode %d at %d", b[p], p)
		}
		if p+1+n > len(b) {
			t.Fatalf("op %d at %d overruns the buffer", b[p], p)
		}
		for _, k := range []int{p + 1, p + 5} { // every op starts with x, y (or w, h)
			if v := float64(f(k)); math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("op %d at %d: non-finite coordinate", b[p], p)
			}
		}
		p += 1 + n
	}
	return ops
}

func TestModelLayout(t *testing.T) {
	m := lesson(t)
	if m.W <= 0 || m.H <= 0 || len(m.Hosts) != 2 {
		t.Fatalf("map %gx%g with %d hosts", m.W, m.H, len(m.Hosts))
	}
	// Lanes follow the kernel's layering, user space first.
	pos := map[string]int{}
	for i, l := range m.Lanes {
		pos[l.name] = i
	}
	for _, pair := range [][2]string{{"syscall", "socket"}, {"udp", "ip"}, {"ip", "neigh"}, {"dev", "qdisc"}, {"qdisc", "driver"}, {"driver", "nic"}} {
		a, okA := pos[pair[0]]
		b, okB := pos[pair[1]]
		if !okA || !okB || a >= b {
			t.Errorf("lane %s (%d, %v) should be above %s (%d, %v)", pair[0], a, okA, pair[1], b, okB)
		}
	}
	var driver *station
	for i := range m.Stations {
		if m.Stations[i].label == "e1000_xmit_frame" {
			driver = &m.Stations[i]
		}
	}
	if driver == nil || m.Lanes[driver.lane].name != "driver" || m.Hosts[driver.host].name != "A" {
		t.Fatalf("e1000_xmit_frame station: %+v", driver)
	}
	for name, m := range allLessons(t) {
		t.Run(name, func(t *testing.T) { checkLayout(t, m) })
	}
}

// checkLayout: one station per function per host, none overlapping, all
// inside the map, and every event at a station.
func checkLayout(t *testing.T, m *Model) {
	seen := map[string]bool{}
	for i, s := range m.Stations {
		k := fmt.Sprint(s.kind, s.host, s.lane, s.label)
		if seen[k] {
			t.Errorf("station %q twice", k)
		}
		seen[k] = true
		for _, o := range m.Stations[i+1:] {
			if s.x < o.x+o.w && o.x < s.x+s.w && s.y < o.y+o.h && o.y < s.y+s.h {
				t.Errorf("stations %q and %q overlap", s.label, o.label)
			}
		}
		if s.x < 0 || s.y < 0 || s.x+s.w > m.W || s.y+s.h > m.H {
			t.Errorf("station %q outside the map", s.label)
		}
	}
	for i := range m.T.Events {
		if s := m.evStation[i]; s < 0 || s >= len(m.Stations) {
			t.Fatalf("event %d has no station", i)
		}
	}
}

// allLessons is a model of every embedded lesson.
func allLessons(t *testing.T) map[string]*Model {
	t.Helper()
	ms := map[string]*Model{}
	for _, l := range scenario.Lessons() {
		tr, err := scenario.Run(l.Name)
		if err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		ms[l.Name] = NewModel(tr)
	}
	if len(ms) == 0 {
		t.Fatal("no lessons")
	}
	return ms
}

// Every frame of every lesson, still and mid-ease, is a well-formed
// buffer, and the same cursor always draws the same bytes; every panel
// renders at every cursor.
func TestEveryLessonEveryCursor(t *testing.T) {
	for name, m := range allLessons(t) {
		t.Run(name, func(t *testing.T) { everyCursor(t, m) })
	}
}

// maxCursors bounds the cursors everyCursor visits: a flood lesson has
// hundreds of thousands of events, and an even sample of them finds the
// same bugs as all of them at a fraction of the test time.
const maxCursors = 2000

func everyCursor(t *testing.T, m *Model) {
	var d cmdBuf
	stride := max(1, m.Len()/maxCursors)
	for c := 0; c < m.Len(); c += stride {
		app.HTMLString(nowLine(m, c))
		app.HTMLString(stackPanel(m, c))
		app.HTMLString(skbPanel(m.skbAtCursor(c)))
		app.HTMLString(logPanel(m, c))
		for _, p := range []float32{0, 0.5, 1} {
			m.Draw(&d, Frame{From: max(c-1, 0), To: c, P: p})
			if checkBuf(t, d.b) < len(m.Stations) {
				t.Fatalf("cursor %d: fewer ops than stations", c)
			}
		}
		first := string(d.b)
		m.Draw(&d, Frame{From: max(c-1, 0), To: c, P: 1})
		if string(d.b) != first {
			t.Fatalf("cursor %d draws differently twice", c)
		}
	}
}

func TestEmptyAndBrokenTraces(t *testing.T) {
	var d cmdBuf
	m := NewModel(&trace.Trace{})
	m.Draw(&d, Frame{})
	checkBuf(t, d.b)

	// Links that point forward or at themselves must not loop the views.
	bad := &trace.Trace{Events: []trace.Event{
		{Seq: 0, Host: "A", Kind: trace.Call, Fn: "f", Up: 1},
		{Seq: 1, Host: "A", Kind: trace.State, Up: 1},
		{Seq: 2, Host: "B", Kind: trace.Enqueue, Queue: "q", QLen: 40, Up: -5},
	}}
	m = NewModel(bad)
	for c := -1; c <= 3; c++ {
		m.Draw(&d, Frame{From: c, To: c, P: 1})
		checkBuf(t, d.b)
		cc := m.Clamp(c)
		app.HTMLString(skbPanel(m.skbAtCursor(cc)))
		app.HTMLString(nowLine(m, cc))
	}
}

func TestSegments(t *testing.T) {
	m := lesson(t)
	for c := range m.Len() {
		v := m.skbAtCursor(c)
		if v.Snap == nil {
			continue
		}
		total, prev := 0, 0
		for _, s := range segments(v.Snap) {
			if s.off != prev || s.n <= 0 {
				t.Fatalf("cursor %d: segment %+v after offset %d", c, s, prev)
			}
			prev = s.off + s.n
			total += s.n
		}
		if total != v.Snap.End {
			t.Fatalf("cursor %d: segments cover %d bytes of %d", c, total, v.Snap.End)
		}
	}
	// Once the Ethernet header is pushed, the bar reads headroom, eth, ip,
	// udp, payload, tailroom.
	var got []string
	for c := m.Len() - 1; c >= 0; c-- {
		if v := m.skbAtCursor(c); v.Snap != nil && !v.Frame && v.Snap.MAC >= 0 {
			for _, s := range segments(v.Snap) {
				got = append(got, s.class)
			}
			break
		}
	}
	if want := "headroom eth ip udp payload tailroom"; strings.Join(got, " ") != want {
		t.Errorf("segments %q, want %q", got, want)
	}
}

func TestPanels(t *testing.T) {
	m := lesson(t)
	hit := false
	for c := range m.Len() {
		html := app.HTMLString(nowLine(m, c)) + app.HTMLString(stackPanel(m, c)) +
			app.HTMLString(skbPanel(m.skbAtCursor(c))) + app.HTMLString(logPanel(m, c))
		if m.T.Events[c].Fn == "e1000_xmit_frame" && m.T.Events[c].Kind == trace.Call {
			hit = true
			for _, want := range []string{
				`id="cur-fn"`, "e1000_xmit_frame",
				"https://elixir.bootlin.com/linux/v6.12/source/drivers/net/ethernet/intel/e1000e/netdev.c",
				"Call Trace:", "&lt;TASK&gt;", "__sys_sendto", `id="ev-cur"`, "h_dest",
			} {
				if !strings.Contains(html, want) {
					t.Errorf("panels at the driver lack %q", want)
				}
			}
		}
	}
	if !hit {
		t.Error("the lesson never calls e1000_xmit_frame")
	}
}

func TestScopeLoad(t *testing.T) {
	defer func(r func(string) (*trace.Trace, error)) { runLesson = r }(runLesson)
	for name, run := range map[string]func(string) (*trace.Trace, error){
		"unknown": scenario.Run,
		"empty":   func(string) (*trace.Trace, error) { return &trace.Trace{}, nil },
		"nil":     func(string) (*trace.Trace, error) { return nil, nil },
		"failing": func(string) (*trace.Trace, error) { return nil, errors.New("boom") },
		"panic":   func(string) (*trace.Trace, error) { panic("bug") },
	} {
		runLesson = run
		s := &Scope{}
		s.load("no-such-lesson")
		if s.err == "" || s.model != nil {
			t.Errorf("%s: err %q, model %v", name, s.err, s.model != nil)
		}
		e := app.NewTestEngine()
		if err := e.Load(s); err != nil {
			t.Fatal(err)
		}
		e.ConsumeAll()
		if html := app.HTMLString(s); !strings.Contains(html, `id="error"`) || !strings.Contains(html, "no-such-lesson") {
			t.Errorf("%s: the page shows no error: %s", name, html)
		}
	}
}

func TestCursorQuery(t *testing.T) {
	if q := cursorQuery("udp-sendto", 42); q != "c=42&lesson=udp-sendto" {
		t.Errorf("query %q", q)
	}
}

// BenchmarkDraw is the Go side of one animation frame mid-ease: what a
// 60 fps animation spends before the single call into JavaScript.
func BenchmarkDraw(b *testing.B) {
	tr, err := scenario.Run("udp-sendto")
	if err != nil {
		b.Fatal(err)
	}
	m := NewModel(tr)
	var d cmdBuf
	c := m.Len() / 2
	for b.Loop() {
		m.Draw(&d, Frame{From: c - 1, To: c, P: 0.5})
	}
	b.ReportMetric(float64(len(d.b)), "bytes/frame")
}

// BenchmarkModel is the layout work done once when a lesson opens.
func BenchmarkModel(b *testing.B) {
	tr, err := scenario.Run("udp-sendto")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		NewModel(tr)
	}
}
