package web

import (
	"sort"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/stack/trace"
)

// A chapter is a named bookmark: the first event of a stage of the
// packet's journey. Chapters are found in the trace by rules, never
// placed by hand, so that every lesson gets them.
type chapter struct {
	name string
	seq  int
}

// chapterRules name the stages in the order a packet meets them; each
// rule picks the first event that belongs to its stage.
var chapterRules = []struct {
	name string
	is   func(e *trace.Event) bool
}{
	{"socket()", func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "__sys_socket" }},
	{"connect", func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "__sys_connect" }},
	{"accept", func(e *trace.Event) bool { return e.Kind == trace.Call && strings.HasPrefix(e.Fn, "__sys_accept") }},
	{"sendto", func(e *trace.Event) bool {
		return e.Kind == trace.Call && (e.Fn == "__sys_sendto" || e.Fn == "__sys_sendmsg")
	}},
	{"qdisc", func(e *trace.Event) bool { return e.Layer == "qdisc" }},
	{"driver", func(e *trace.Event) bool { return e.Layer == "driver" && strings.HasPrefix(e.Ctx, "task:") }},
	{"wire", func(e *trace.Event) bool { return e.Kind == trace.Wire }},
	{"interrupt", func(e *trace.Event) bool { return e.Kind == trace.IRQ || strings.HasPrefix(e.Ctx, "hardirq:") }},
	{"softirq", func(e *trace.Event) bool { return e.Ctx == "softirq:NET_RX" }},
	{"socket", func(e *trace.Event) bool {
		_, q, ok := sockName(e.Queue)
		return ok && e.Kind == trace.Enqueue && q == "sk_receive_queue"
	}},
	{"drop", func(e *trace.Event) bool { return e.Kind == trace.Drop }},
	{"oops", func(e *trace.Event) bool { return e.Kind == trace.Oops }},
	{"recvfrom", func(e *trace.Event) bool {
		return e.Kind == trace.Ret && (e.Fn == "__sys_recvfrom" || e.Fn == "__sys_recvmsg") && !strings.HasPrefix(e.Ret, "-")
	}},
}

// chapters finds each rule's first event, in trace order.
func (m *Model) chapters() []chapter {
	var out []chapter
	found := make([]bool, len(chapterRules))
	left := len(chapterRules)
	for i := 0; i < m.Len() && left > 0; i++ {
		e := &m.T.Events[i]
		for r, rule := range chapterRules {
			if !found[r] && rule.is(e) {
				found[r] = true
				left--
				out = append(out, chapter{rule.name, i})
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].seq < out[b].seq })
	return out
}

// chapterFrom is the next chapter after c (or the previous one before
// it), -1 if none.
func (m *Model) chapterFrom(c int, next bool) int {
	chs := m.chapterList()
	if next {
		for _, ch := range chs {
			if ch.seq > c {
				return ch.seq
			}
		}
		return -1
	}
	for k := len(chs) - 1; k >= 0; k-- {
		if chs[k].seq < c {
			return chs[k].seq
		}
	}
	return -1
}

// chapterList is chapters, computed once per model.
func (m *Model) chapterList() []chapter {
	if m.chaps == nil {
		m.chaps = m.chapters()
		if m.chaps == nil {
			m.chaps = []chapter{}
		}
	}
	return m.chaps
}

// chapterSelect jumps to a chapter; it shows the chapter the cursor is in.
func chapterSelect(l lang, m *Model, c int) app.UI {
	chs := m.chapterList()
	if len(chs) == 0 {
		return nil
	}
	in := -1
	for k, ch := range chs {
		if ch.seq <= c {
			in = k
		}
	}
	return box("label", "", "chapters",
		app.Text(l.t("Chapter")+" "),
		app.Elem("select").ID("chapter").OnChange(func(ctx app.Context, e app.Event) {
			if seq, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
				ctx.NewActionWithValue(actionGoto, seq)
			}
		}).Body(
			app.If(in < 0, func() app.UI { return option(0, true, "—") }),
			app.Range(chs).Slice(func(k int) app.UI {
				return option(chs[k].seq, k == in, chs[k].name)
			}),
		),
	)
}
