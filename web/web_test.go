package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
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
const maxCursors = 400

func everyCursor(t *testing.T, m *Model) {
	var d cmdBuf
	stride := max(1, m.Len()/maxCursors)
	for c := 0; c < m.Len(); c += stride {
		app.HTMLString(nowLine(langEN, m, c))
		app.HTMLString(stackPanel(langEN, m, c))
		app.HTMLString(skbPanel(langEN, m.skbAtCursor(c)))
		app.HTMLString((&Scope{model: m, cursor: c}).logPanel())
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
		app.HTMLString(skbPanel(langEN, m.skbAtCursor(cc)))
		app.HTMLString(nowLine(langEN, m, cc))
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
		html := app.HTMLString(nowLine(langEN, m, c)) + app.HTMLString(stackPanel(langEN, m, c)) +
			app.HTMLString(skbPanel(langEN, m.skbAtCursor(c))) + app.HTMLString((&Scope{model: m, cursor: c}).logPanel())
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

func TestScopeShow(t *testing.T) {
	for name, run := range map[string]func() (*trace.Trace, error){
		"empty":   func() (*trace.Trace, error) { return &trace.Trace{}, nil },
		"nil":     func() (*trace.Trace, error) { return nil, nil },
		"failing": func() (*trace.Trace, error) { return nil, errors.New("boom") },
	} {
		s := &Scope{v: view{Lesson: "no-such-lesson"}}
		s.show(run())
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
	if _, err := lessonFile(runKey{Lesson: "no-such-lesson"}); err == nil {
		t.Error("an unknown lesson loads")
	}
	// A panicking simulation is an error, not a crash.
	f, err := scenario.Load("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	f.Hosts = nil
	f.Links = append(f.Links, scenario.Link{Name: "x", A: "nowhere:eth0", B: "nowhere:eth1"})
	r := newRun(f)
	for !r.slice() {
	}
	if _, err := r.result(); err == nil {
		t.Error("a broken scenario runs")
	}
}

func TestViewQuery(t *testing.T) {
	v := view{Lesson: "udp-sendto", C: 42, Lang: langHant, Lecture: true,
		Knobs: scenario.Knobs{MTU: 1400, RateBps: 1e6, DelayNs: 5000, LossPct: 2.5, TxQueueLen: 10, SndBuf: 9000, RcvBuf: 4096, Qdisc: "fq_codel", Model: "dm9000"}}
	q := v.query()
	back, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseView(back); !reflect.DeepEqual(got, v) {
		t.Errorf("%s reads back as %+v, want %+v", q, got, v)
	}
	if q := (view{Lesson: "arp"}).query(); q != "c=0&lesson=arp" {
		t.Errorf("default view query %q", q)
	}
	if l := parseView(url.Values{"lang": {"klingon"}}).Lang; l != langEN {
		t.Errorf("unknown language read as %q", l)
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

// The debugger's moves on the first lesson, checked against the trace.
func TestStepping(t *testing.T) {
	m := lesson(t)
	ev := m.T.Events
	for c := range m.Len() {
		e := &ev[c]
		if i := m.stepInto(c); i != c && (!m.sameCtx(c, i) || i <= c) {
			t.Fatalf("into from %d goes to %d", c, i)
		}
		if i := m.stepOver(c); i != c {
			for k := c + 1; k < i; k++ {
				if m.sameCtx(c, k) && ev[k].Depth <= e.Depth {
					t.Fatalf("over from %d skips %d", c, k)
				}
			}
		}
		if e.Kind == trace.Call {
			if r := m.stepOut(c); r <= c || ev[r].Kind != trace.Ret || ev[r].Fn != e.Fn || ev[r].Up != c {
				t.Fatalf("out from the call %d (%s) goes to %d", c, e.Fn, r)
			}
		}
		if w := m.nextWire(c); w != c && ev[w].Kind != trace.Wire {
			t.Fatalf("wire from %d goes to %d", c, w)
		}
	}
	// A breakpoint on the driver stops at its first call.
	drv := -1
	for s, st := range m.Stations {
		if st.label == "e1000_xmit_frame" {
			drv = s
		}
	}
	b := m.nextBreak(0, map[int]bool{drv: true})
	if ev[b].Fn != "e1000_xmit_frame" || m.stationAt(m.Stations[drv].x+1, m.Stations[drv].y+1) != drv {
		t.Errorf("continue to the driver's breakpoint stops at %d (%s)", b, ev[b].Fn)
	}
	if len(m.marks()) == 0 {
		t.Error("no timeline marks")
	}
	var names []string
	for _, ch := range m.chapters() {
		names = append(names, ch.name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "sendto qdisc driver wire interrupt softirq socket recvfrom") {
		t.Errorf("chapters %q", got)
	}
}

// The socket panel counts the receiver's queue from the trace.
func TestSockets(t *testing.T) {
	m := lesson(t)
	enq := -1
	for i, e := range m.T.Events {
		if e.Kind == trace.Enqueue && strings.HasSuffix(e.Queue, "sk_receive_queue") {
			enq = i
			break
		}
	}
	rows := m.sockRows(enq)
	if len(rows) != 1 || rows[0].Sock != "sk1" || rows[0].Queue != "sk_receive_queue" || rows[0].Len != 1 || rows[0].Enq != 1 || !rows[0].Hot {
		t.Errorf("socket rows at the enqueue: %+v", rows)
	}
	if rows := m.sockRows(m.Len() - 1); len(rows) != 1 || rows[0].Len != 0 || rows[0].Deq != 1 {
		t.Errorf("socket rows at the end: %+v", rows)
	}
	if html := app.HTMLString(sockPanel(langHans, rows)); !strings.Contains(html, "入队") {
		t.Errorf("socket panel in zh-Hans: %s", html)
	}
}

// Every catalogue entry has both Chinese texts, with the same verbs.
func TestCatalogue(t *testing.T) {
	for en, tr := range catalogue {
		for i, s := range tr {
			if s == "" || strings.Count(s, "%") != strings.Count(en, "%") {
				t.Errorf("%q: translation %d %q", en, i, s)
			}
		}
	}
}

// "This function" while the explanations are on their way, after their
// fetch failed, and once they are here.
func TestFnPanelText(t *testing.T) {
	tr, err := scenario.Run("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	c := -1
	for i, e := range tr.Events {
		if e.Kind == trace.Call && e.Fn == "ip_local_out" {
			c = i
			break
		}
	}
	if c < 0 {
		t.Fatal("udp-sendto calls no ip_local_out")
	}
	m := newModel(tr, false)
	if html := app.HTMLString(fnPanel(langEN, m, c, nil)); !strings.Contains(html, `id="fn-summary"`) || strings.Contains(html, "muted") {
		t.Errorf("explained: %s", html)
	}
	// A function with no text: the panel says why.
	tr.Events[c].Fn = "no_such_function"
	for _, x := range []struct {
		err  error
		want string
	}{
		{errTextPending, "正在加载说明…"},
		{errors.New("explain: web/explain/zh-Hans.json: HTTP 404"), "无法加载说明（explain: web/explain/zh-Hans.json: HTTP 404）。"},
	} {
		if html := app.HTMLString(fnPanel(langHans, m, c, x.err)); !strings.Contains(html, x.want) {
			t.Errorf("%v: %s", x.err, html)
		}
	}
	if html := app.HTMLString(fnPanel(langHans, m, c, nil)); strings.Contains(html, `id="fn-summary"`) {
		t.Errorf("no text and no error: %s", html)
	}
}
