package web

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// SourceURL links a kernel source path to its v6.12 text on Elixir.
func SourceURL(file string) string {
	return "https://elixir.bootlin.com/linux/v6.12/source/" + strings.TrimPrefix(file, "/")
}

// micros formats virtual nanoseconds as microseconds.
func micros(ns int64) string { return fmt.Sprintf("%.3f", float64(ns)/1000) }

func skbList(ids []int) string {
	if len(ids) == 0 {
		return ""
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = "skb " + strconv.Itoa(id)
	}
	return strings.Join(s, ", ")
}

// nowLine is "this function": where the cursor is, what happens there and
// a link to the source.
func nowLine(l lang, m *Model, c int) app.UI {
	e := &m.T.Events[c]
	fn, file := m.fnOf(c)
	cls := ctxClass(e.Ctx)
	return app.Elem("div").ID("now").Class("now").Attr("data-cursor", c).Body(
		el("span", "", "ctx ctx-"+cls, e.Ctx),
		el("span", "", "where", e.Host+" cpu"+strconv.Itoa(e.CPU)),
		el("code", "cur-fn", "fn", fn),
		app.If(file != "", func() app.UI {
			return app.A().ID("cur-src").Href(SourceURL(file)).Target("_blank").Rel("noopener").Text(file)
		}),
		el("span", "cur-what", "what", describeIn(l, e)),
		app.If(e.Kind == trace.Drop, func() app.UI {
			return el("span", "cur-drop", "dropmsg", l.t("dropped")+": "+e.Reason)
		}),
		// The console, as the kernel printed the oops (its numbers are
		// invented: the model has no machine code).
		app.If(e.Kind == trace.Oops, func() app.UI {
			return el("pre", "cur-oops", "oops", e.OopsText())
		}),
	)
}

// seg is a run of buffer bytes of one kind: headroom, a header, data or
// tailroom.
type seg struct {
	class  string
	off, n int
	inData bool // between data and tail: part of the packet now
}

// segments cuts the buffer from head to end at the pointers and header
// boundaries. Offsets are clamped, so a malformed snapshot still draws.
func segments(sn *trace.SkbSnap) []seg {
	end := max(sn.End, 0)
	tail := min(max(sn.Tail, 0), end)
	data := min(max(sn.Data, 0), tail)
	cuts := []int{0, data, tail, end}
	for _, r := range sn.Hdrs {
		for _, o := range []int{r.Off, r.Off + r.Len} {
			if o > 0 && o < tail {
				cuts = append(cuts, o)
			}
		}
	}
	sort.Ints(cuts)
	var out []seg
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		if a == b {
			continue
		}
		class := "data"
		switch {
		case a >= tail:
			class = "tailroom"
		default:
			class = ""
			for _, r := range sn.Hdrs {
				if r.Off <= a && a < r.Off+r.Len {
					class = r.Layer
				}
			}
			if class == "" {
				if a < data {
					class = "headroom"
				} else {
					class = "data"
				}
			}
		}
		in := a >= data && a < tail
		if n := len(out); n > 0 && out[n-1].class == class && out[n-1].inData == in {
			out[n-1].n += b - a
			continue
		}
		out = append(out, seg{class: class, off: a, n: b - a, inData: in})
	}
	return out
}

// skbView is the skb panel's subject: a snapshot and how it was found.
// Its fields are exported because go-app compares them to decide whether
// the panel needs rendering again.
type skbView struct {
	Snap  *trace.SkbSnap
	Frame bool         // a frame on the wire rather than an skb
	Wire  *trace.Event // the frame's wire event
	ID    int          // the skb
	AsOf  int          // the event the snapshot is from, if not the cursor's; else -1
	Gone  bool         // freed or dropped by the cursor
}

// skbAtCursor picks what the skb panel shows: the frame of a wire event,
// else the skb most recently touched at or before the cursor.
func (m *Model) skbAtCursor(c int) skbView {
	e := &m.T.Events[c]
	if e.Kind == trace.Wire && len(e.Frame) > 0 {
		return skbView{Snap: frameSnap(e.Frame), Frame: true, Wire: e}
	}
	id := m.lastSkb[c]
	if id < 0 {
		return skbView{}
	}
	sn := m.snapOf(c, id)
	if sn == nil {
		return skbView{}
	}
	v := skbView{Snap: sn, ID: id, AsOf: -1}
	k := sort.Search(len(m.skbs), func(i int) bool { return m.skbs[i].id >= id })
	if k < len(m.skbs) {
		if st, seq := m.skbAt(&m.skbs[k], c); st < 0 {
			v.Gone = true
		} else if seq != c {
			v.AsOf = seq
		}
	}
	return v
}

// frameSnap presents wire bytes as a buffer whose data is the frame.
func frameSnap(f []byte) *trace.SkbSnap {
	n := len(f)
	net, transport := -1, -1
	if n >= 14 && f[12] == 0x08 && f[13] == 0x00 {
		net = 14
		if n > 14 {
			transport = 14 + int(f[14]&0x0f)*4
		}
	}
	return &trace.SkbSnap{Buf: f, Tail: n, End: n, Len: n, MAC: 0, Network: net, Transport: transport,
		Hdrs: skb.Regions(f, 0, net, transport)}
}

// hexRows caps the dump; a GSO super-packet would otherwise be thousands
// of rows.
const hexRows = 64

// skbBox is the skb panel as a component: stepping through events that
// leave the skb unchanged (the recorder then reuses its snapshot) costs no
// rendering.
type skbBox struct {
	app.Compo
	V skbView
	L lang
}

// Render implements app.Composer.
func (b *skbBox) Render() app.UI { return skbPanel(b.L, b.V) }

func skbPanel(l lang, v skbView) app.UI {
	if v.Snap == nil {
		return box("section", "skb", "panel",
			el("h2", "", "", "sk_buff"),
			el("p", "", "muted", l.t("No skb yet at this event.")),
		)
	}
	sn := v.Snap
	segs := segments(sn)
	cols := make([]string, len(segs))
	for i, s := range segs {
		cols[i] = fmt.Sprintf("minmax(3.2em, %dfr)", s.n)
	}
	grid := strings.Join(cols, " ")
	return box("section", "skb", "panel",
		el("h2", "", "", v.title(l)),
		app.Elem("div").ID("skb-bar").Class("skb-bar").Style("grid-template-columns", grid).Body(
			app.Range(segs).Slice(func(i int) app.UI {
				s := segs[i]
				cls := "seg l-" + s.class
				if !s.inData && s.class != "headroom" && s.class != "tailroom" {
					cls += " outside"
				}
				return app.Elem("div").Class(cls).
					Title(fmt.Sprintf("%s: %d bytes at head+%d", s.class, s.n, s.off)).
					Body(el("span", "", "", s.class), el("span", "", "n", strconv.Itoa(s.n)))
			}),
		),
		pointerRow(sn, segs, grid),
		app.If(!v.Frame, func() app.UI { return metaTable(sn) }),
		fieldsView(sn),
		hexDump(sn, segs),
	)
}

// pointerRow labels head, data, tail and end under the bar, each at its
// boundary; pointers at the same offset share one label.
func pointerRow(sn *trace.SkbSnap, segs []seg, grid string) app.UI {
	if len(segs) == 0 {
		return app.Elem("div")
	}
	end := segs[len(segs)-1].off + segs[len(segs)-1].n
	type ptr struct {
		names []string
		off   int
	}
	var ptrs []ptr
	add := func(name string, off int) {
		for i := range ptrs {
			if ptrs[i].off == off {
				ptrs[i].names = append(ptrs[i].names, name)
				return
			}
		}
		ptrs = append(ptrs, ptr{[]string{name}, off})
	}
	// data and tail on the first row, head and end on the second: head and
	// data are often a few bytes apart.
	add("data", min(max(sn.Data, 0), end))
	add("tail", min(max(sn.Tail, 0), end))
	add("head", 0)
	add("end", end)
	return app.Elem("div").ID("skb-ptrs").Class("skb-ptrs").Style("grid-template-columns", grid).Body(
		app.Range(ptrs).Slice(func(i int) app.UI {
			p := ptrs[i]
			col, align := len(segs), "end"
			for k, s := range segs {
				if s.off == p.off {
					col, align = k+1, "start"
					break
				}
			}
			row := "1"
			if p.names[0] == "head" || p.names[0] == "end" {
				row = "2"
			}
			return app.Elem("span").Class("ptr ptr-"+align).
				Style("grid-column", strconv.Itoa(col)).
				Style("grid-row", row).
				Style("justify-self", align).
				Text(strings.Join(p.names, "=") + " +" + strconv.Itoa(p.off))
		}),
	)
}

func metaTable(sn *trace.SkbSnap) app.UI {
	kv := [][2]string{
		{"len", strconv.Itoa(sn.Len)},
		{"headroom", strconv.Itoa(sn.Headroom())},
		{"tailroom", strconv.Itoa(sn.Tailroom())},
		{"protocol", fmt.Sprintf("0x%04x", sn.Protocol)},
		{"ip_summed", sn.IPSummed},
		{"users", strconv.Itoa(sn.Users)},
		{"dataref", strconv.Itoa(sn.Dataref)},
		{"cloned", strconv.FormatBool(sn.Cloned)},
		{"truesize", strconv.Itoa(sn.Truesize)},
	}
	opt := func(k, v string) {
		if v != "" {
			kv = append(kv, [2]string{k, v})
		}
	}
	if sn.IPSummed == "CHECKSUM_PARTIAL" {
		opt("csum_start", strconv.Itoa(sn.CsumStart))
		opt("csum_offset", strconv.Itoa(sn.CsumOff))
	}
	opt("dev", sn.Dev)
	opt("sk", sn.Sk)
	opt("pkt_type", sn.PktType)
	if sn.Priority != 0 {
		opt("priority", strconv.Itoa(int(sn.Priority)))
	}
	if sn.GSOSize != 0 {
		opt("gso_size", strconv.Itoa(sn.GSOSize))
		opt("gso_segs", strconv.Itoa(sn.GSOSegs))
		opt("gso_type", sn.GSOType)
	}
	if len(sn.FragList) > 0 {
		// The bytes past the head live in the chained skbs.
		opt("data_len", strconv.Itoa(sn.DataLen))
		ids := make([]string, len(sn.FragList))
		for i, id := range sn.FragList {
			ids[i] = "skb " + strconv.Itoa(id)
		}
		opt("frag_list", strings.Join(ids, ", "))
	}
	hdr := func(name string, off int) {
		if off >= 0 {
			kv = append(kv, [2]string{name, "+" + strconv.Itoa(off)})
		} else {
			kv = append(kv, [2]string{name, "unset"})
		}
	}
	hdr("mac_header", sn.MAC)
	hdr("network_header", sn.Network)
	hdr("transport_header", sn.Transport)
	for _, f := range sn.CB {
		kv = append(kv, [2]string{"cb." + f.Name, f.Value})
	}
	return box("dl", "", "meta",
		app.If(sn.CBType != "", func() app.UI {
			return el("div", "", "cbtype", "cb read as struct "+sn.CBType)
		}),
		app.Range(kv).Slice(func(i int) app.UI {
			return box("div", "", "", el("dt", "", "", kv[i][0]), el("dd", "", "", kv[i][1]))
		}),
	)
}

func fieldsView(sn *trace.SkbSnap) app.UI {
	return box("div", "", "hdrs",
		app.Range(sn.Hdrs).Slice(func(i int) app.UI {
			r := sn.Hdrs[i]
			if len(r.Fields) == 0 {
				return nil
			}
			return box("div", "", "hdr",
				el("span", "", "hname l-"+r.Layer, r.Layer),
				app.Range(r.Fields).Slice(func(k int) app.UI {
					f := r.Fields[k]
					return box("span", "", "field",
						el("span", "", "k", f.Name),
						el("span", "", "v", f.Value),
					)
				}),
			)
		}),
	)
}

// hexDump prints the bytes that hold the packet and its headers, 16 a row,
// each run coloured like its segment in the bar.
func hexDump(sn *trace.SkbSnap, segs []seg) app.UI {
	tail := min(max(sn.Tail, 0), len(sn.Buf))
	lo := min(max(sn.Data, 0), tail)
	for _, r := range sn.Hdrs {
		if r.Off >= 0 && r.Off < lo {
			lo = r.Off
		}
	}
	lo &^= 15
	classAt := func(o int) string {
		for _, s := range segs {
			if o >= s.off && o < s.off+s.n {
				return s.class
			}
		}
		return "data"
	}
	type run struct {
		class, text string
	}
	type row struct {
		off   int
		runs  []run
		ascii string
	}
	var rows []row
	for o := lo; o < tail && len(rows) < hexRows; o += 16 {
		r := row{off: o}
		var asc strings.Builder
		for b := o; b < o+16 && b < tail; b++ {
			cl := classAt(b)
			h := fmt.Sprintf("%02x ", sn.Buf[b])
			if n := len(r.runs); n > 0 && r.runs[n-1].class == cl {
				r.runs[n-1].text += h
			} else {
				r.runs = append(r.runs, run{cl, h})
			}
			ch := sn.Buf[b]
			if ch < 0x20 || ch > 0x7e {
				ch = '.'
			}
			asc.WriteByte(ch)
		}
		r.ascii = asc.String()
		rows = append(rows, r)
	}
	more := tail - (lo + 16*hexRows)
	return box("pre", "hex", "hex",
		app.Range(rows).Slice(func(i int) app.UI {
			r := rows[i]
			return box("div", "", "",
				el("span", "", "off", fmt.Sprintf("+%04x  ", r.off)),
				app.Range(r.runs).Slice(func(k int) app.UI {
					return el("span", "", "l-"+r.runs[k].class, r.runs[k].text)
				}),
				el("span", "", "asc", strings.Repeat("   ", 16-len(r.ascii))+" "+r.ascii),
			)
		}),
		app.If(more > 0, func() app.UI {
			return el("div", "", "muted", fmt.Sprintf("… %d more bytes", more))
		}),
	)
}

// stackPanel prints the call stack at the cursor innermost first, framed
// like the kernel's backtraces (<TASK> or <IRQ>), with each frame's file;
// clicking a frame goes to that call.
func stackPanel(l lang, m *Model, c int) app.UI {
	e := &m.T.Events[c]
	cls := ctxClass(e.Ctx)
	frames := m.stack(c)
	var lines []app.UI
	head := e.Ctx
	if cls == "task" {
		// task:NAME[PID] reads as the kernel's "PID: .. Comm: .." header.
		name, pid := strings.TrimPrefix(e.Ctx, "task:"), ""
		if k := strings.LastIndexByte(name, '['); k >= 0 && strings.HasSuffix(name, "]") {
			name, pid = name[:k], name[k+1:len(name)-1]
		}
		head = fmt.Sprintf("CPU: %d PID: %s Comm: %s", e.CPU, pid, name)
	} else if e.CPU >= 0 {
		head = fmt.Sprintf("CPU: %d %s", e.CPU, e.Ctx)
	}
	lines = append(lines, el("div", "", "bt-head", head))
	if e.Kind == trace.Ret {
		lines = append(lines, el("div", "", "bt-ret", describeIn(l, e)))
	}
	if cls == "hw" {
		lines = append(lines, el("div", "", "muted", l.t("hardware: no CPU is running kernel code for this event")))
	} else {
		mark := "TASK"
		if cls != "task" {
			mark = "IRQ"
		}
		lines = append(lines, el("div", "", "", "Call Trace:"), el("div", "", "", " <"+mark+">"))
		for k, seq := range frames {
			f := &m.T.Events[seq]
			cls := "bt-frame"
			if k == 0 {
				cls += " bt-top"
			}
			lines = append(lines, box("div", "", cls,
				app.Elem("span").Class("bt-fn").Title(l.t("go to this call")).Attr("data-seq", seq).OnClick(gotoClicked).Text("  "+f.Fn),
				app.Text(" "),
				app.If(f.File != "", func() app.UI {
					return app.A().Class("bt-file").Href(SourceURL(f.File)).Target("_blank").Rel("noopener").Text("(" + f.File + ")")
				}),
			))
		}
		lines = append(lines, el("div", "", "", " </"+mark+">"))
	}
	return box("section", "stack", "panel",
		el("h2", "", "", l.t("Call stack")),
		box("pre", "", "bt", lines...),
	)
}

// logPage is the event log's paging: it shows the cursor's page of rows
// and one page either side, so a long trace costs no more than a short one,
// and a step only moves the highlight (the rows stay put until the cursor
// crosses into another page).
const logPage = 20

// logFilter narrows the event log; an empty field lets everything through.
type logFilter struct {
	Host, Layer, Kind, Skb string
}

// match reports whether event i passes f.
func (m *Model) match(f logFilter, i int) bool {
	e := &m.T.Events[i]
	if f.Host != "" && e.Host != f.Host || f.Kind != "" && string(e.Kind) != f.Kind ||
		f.Layer != "" && m.laneOf(i) != f.Layer {
		return false
	}
	if f.Skb != "" {
		for _, id := range e.Skb {
			if strconv.Itoa(id) == f.Skb {
				return true
			}
		}
		return false
	}
	return true
}

// filtered lists the events f lets through, nil for no filter.
func (m *Model) filtered(f logFilter) []int {
	if f == (logFilter{}) {
		return nil
	}
	out := []int{}
	for i := range m.T.Events {
		if m.match(f, i) {
			out = append(out, i)
		}
	}
	return out
}

// setFilter changes one field of the log filter, named by the control's
// data-field, and recomputes which events pass.
func (s *Scope) setFilter(ctx app.Context, e app.Event) {
	v := formValue(ctx.JSSrc().Get("value").String())
	switch ctx.JSSrc().Get("dataset").Get("field").String() {
	case "host":
		s.filter.Host = v
	case "layer":
		s.filter.Layer = v
	case "kind":
		s.filter.Kind = v
	case "skb":
		s.filter.Skb = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "skb"))
	}
	s.logIdx = s.model.filtered(s.filter)
	ctx.Defer(scrollLog)
}

// logPanel is the event log: a table of the events around the cursor,
// filtered by host, layer, kind and skb.
func (s *Scope) logPanel() app.UI {
	m, c, l := s.model, s.cursor, s.v.Lang
	idx := s.logIdx
	n := m.Len()
	if idx != nil {
		n = len(idx)
	}
	at := func(k int) int {
		if idx == nil {
			return k
		}
		return idx[k]
	}
	// p is the cursor's place in the filtered list: the first event at or
	// after it.
	p := sort.Search(n, func(k int) bool { return at(k) >= c })
	lo := max(0, (p/logPage-1)*logPage)
	hi := min(n, lo+3*logPage)
	rows := make([]app.UI, 0, hi-lo)
	for k := lo; k < hi; k++ {
		rows = append(rows, &logRow{M: m, Seq: at(k), Cur: at(k) == c})
	}
	hosts := make([]string, len(m.Hosts))
	for i, h := range m.Hosts {
		hosts[i] = h.name
	}
	layers := make([]string, len(m.Lanes))
	for i, ln := range m.Lanes {
		layers[i] = ln.name
	}
	kinds := []string{"call", "ret", "alloc", "enqueue", "dequeue", "drop", "free", "clone", "state", "timer", "irq", "wire"}
	sel := func(field, label, cur string, opts []string) app.UI {
		return box("label", "", "",
			app.Text(l.t(label)+" "),
			app.Elem("select").ID("filter-"+field).Attr("data-field", field).OnChange(s.setFilter).Body(
				option(unset, cur == "", l.t("all")),
				app.Range(opts).Slice(func(i int) app.UI {
					return option(opts[i], opts[i] == cur, opts[i])
				}),
			),
		)
	}
	title := fmt.Sprintf(l.t("Event log (%d events)"), m.Len())
	if idx != nil {
		title = fmt.Sprintf(l.t("Event log (%d of %d events)"), len(idx), m.Len())
	}
	var heads []app.UI
	for _, h := range []string{"#", "t µs", l.t("host"), "cpu", l.t("context"), l.t("kind"), l.t("function / queue"), "skb", l.t("ret / note")} {
		heads = append(heads, app.Elem("th").Attr("scope", "col").Text(h))
	}
	return box("section", "log", "panel log",
		el("h2", "", "", title),
		box("div", "", "filters",
			sel("host", "host", s.filter.Host, hosts),
			sel("layer", "layer", s.filter.Layer, layers),
			sel("kind", "kind", s.filter.Kind, kinds),
			box("label", "", "", app.Text("skb "), app.ElemSelfClosing("input").ID("filter-skb").Attr("data-field", "skb").Attr("type", "text").
				Attr("size", 4).Attr("value", s.filter.Skb).OnChange(s.setFilter)),
		),
		box("div", "", "log-scroll",
			box("table", "", "",
				el("caption", "", "sr-only", title),
				box("thead", "", "", box("tr", "", "", heads...)),
				box("tbody", "", "", rows...),
			),
		),
	)
}

// logRow is one row of the event log, a component of its own so that a
// step re-renders only the two rows whose highlight moves.
type logRow struct {
	app.Compo
	M   *Model
	Seq int
	Cur bool
}

// Render implements app.Composer.
func (r *logRow) Render() app.UI {
	e := &r.M.T.Events[r.Seq]
	what := e.Fn
	if what == "" {
		what = e.Queue
	}
	if what == "" {
		what = e.Wire
	}
	detail := e.Ret
	for _, s := range []string{e.Reason, e.Note} {
		if s != "" {
			detail = strings.TrimSpace(detail + " " + s)
		}
	}
	if e.Kind == trace.Enqueue || e.Kind == trace.Dequeue {
		detail = strings.TrimSpace("qlen " + strconv.Itoa(e.QLen) + " " + detail)
	}
	tr := app.Elem("tr").Class("k-"+string(e.Kind)).Attr("data-seq", r.Seq).OnClick(gotoClicked)
	if r.Cur {
		tr = tr.ID("ev-cur").Class("cur")
	}
	return tr.Body(
		el("td", "", "num", strconv.Itoa(e.Seq)),
		el("td", "", "num", micros(e.T)),
		el("td", "", "", e.Host),
		el("td", "", "num", strconv.Itoa(e.CPU)),
		box("td", "", "", el("span", "", "ctx ctx-"+ctxClass(e.Ctx), e.Ctx)),
		el("td", "", "", string(e.Kind)),
		app.Elem("td").Class("fn").Style("padding-left", fmt.Sprintf("%.1fem", 0.4+0.6*float64(e.Depth))).Text(what),
		el("td", "", "", skbList(e.Skb)),
		el("td", "", "detail", detail),
	)
}

// actionGoto asks the page to move its cursor to the event in the value.
const actionGoto = "skbscope/goto"

// gotoClicked handles a click on anything that carries data-seq. The
// number lives in the DOM, not in a closure: go-app keeps an element's
// first handler when a new one comes from the same function literal, so a
// captured number would go stale.
func gotoClicked(ctx app.Context, e app.Event) {
	if seq, err := strconv.Atoi(ctx.JSSrc().Get("dataset").Get("seq").String()); err == nil {
		ctx.NewActionWithValue(actionGoto, seq)
	}
}
