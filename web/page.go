// Package web is skbscope's user interface: a go-app page that animates a
// lesson's trace on a stack map and explains each event in panels. The
// same package renders on the server (pre-rendering) and in the browser.
package web

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/stack/trace"
)

// runLesson is where traces come from; tests substitute their own.
var runLesson = scenario.Run

// lessons lists the lessons once: scenario.Lessons parses every lesson
// file, too slow to repeat on each render in WebAssembly.
var lessons = sync.OnceValue(scenario.Lessons)

// DefaultLesson is opened when the URL names none and no lesson is listed.
const DefaultLesson = "udp-sendto"

// Routes registers the page. The URL holds the whole view:
// /?lesson=NAME&c=CURSOR.
func Routes() {
	app.Route("/", func() app.Composer { return &Scope{} })
}

// cursorQuery is the query string of a view.
func cursorQuery(lesson string, c int) string {
	return url.Values{"lesson": {lesson}, "c": {strconv.Itoa(c)}}.Encode()
}

// Speeds offered while playing, in events per second.
var speeds = []string{"1", "2", "4", "8", "16"}

// Scope is the page. Its rendered fields change only when the cursor (or
// lesson, or play state) changes; the moving cards live in anim, which the
// render never reads.
type Scope struct {
	app.Compo

	lesson  string
	model   *Model
	err     string
	cursor  int
	playing bool
	speed   string

	anim *animator
}

// OnMount starts the canvas animator and the keyboard (browser only).
func (s *Scope) OnMount(ctx app.Context) {
	ctx.Handle(actionGoto, func(ctx app.Context, a app.Action) {
		if seq, ok := a.Value.(int); ok {
			s.jump(ctx, seq)
		}
	})
	s.anim = newAnimator("map", func() { ctx.Dispatch(s.playStep) })
	s.anim.listen(ctx, s.onKey)
	if s.model != nil {
		s.anim.jump(s.model, s.cursor)
	}
}

// OnDismount stops the animator and the keyboard.
func (s *Scope) OnDismount() {
	if s.anim != nil {
		s.anim.close()
	}
}

// OnNav loads the lesson and cursor the URL names.
func (s *Scope) OnNav(ctx app.Context) {
	q := ctx.Page().URL().Query()
	lesson := q.Get("lesson")
	if lesson == "" {
		lesson = DefaultLesson
		if ls := lessons(); len(ls) > 0 {
			lesson = ls[0].Name
		}
	}
	if s.model == nil || lesson != s.lesson {
		s.load(lesson)
	}
	c, _ := strconv.Atoi(q.Get("c"))
	if s.model != nil {
		s.cursor = s.model.Clamp(c)
		if s.anim != nil {
			s.anim.jump(s.model, s.cursor)
			ctx.Defer(scrollLog)
		}
	}
}

// load runs the lesson's simulation. Failures become a message on the
// page: an unknown lesson or an empty trace must not break the UI.
func (s *Scope) load(lesson string) {
	s.lesson, s.model, s.err, s.cursor, s.playing = lesson, nil, "", 0, false
	t, err := safeRun(lesson)
	switch {
	case err != nil:
		s.err = fmt.Sprintf("Cannot show lesson %q: %v", lesson, err)
	case len(t.Events) == 0:
		s.err = fmt.Sprintf("Lesson %q produced no events.", lesson)
	default:
		s.model = NewModel(t)
	}
}

// safeRun turns a panic in a simulation into an error, so a bug in one
// lesson shows as a message instead of a blank page.
func safeRun(lesson string) (t *trace.Trace, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("simulation failed: %v", r)
		}
	}()
	t, err = runLesson(lesson)
	if err == nil && t == nil {
		err = errors.New("no trace")
	}
	return t, err
}

// setCursor moves to event c: the panels re-render, the URL follows, the
// cards ease to their new places.
func (s *Scope) setCursor(ctx app.Context, c int) {
	if s.model == nil {
		return
	}
	c = s.model.Clamp(c)
	if c == s.cursor {
		return
	}
	s.cursor = c
	u := *ctx.Page().URL()
	u.RawQuery = cursorQuery(s.lesson, c)
	ctx.Page().ReplaceURL(&u)
	if s.anim != nil {
		s.anim.move(c)
	}
	ctx.Defer(scrollLog)
}

// scrollLog centres the current row in the event log's own scroll box
// (scrollIntoView would scroll the whole page as well).
func scrollLog(app.Context) {
	row := app.Window().GetElementByID("ev-cur")
	if !row.Truthy() {
		return
	}
	box := row.Get("parentElement").Call("closest", ".log-scroll")
	if !box.Truthy() {
		return
	}
	box.Set("scrollTop", row.Get("offsetTop").Int()-box.Get("clientHeight").Int()/2)
}

// jump stops playing and moves to event c.
func (s *Scope) jump(ctx app.Context, c int) {
	s.setPlaying(false)
	s.setCursor(ctx, c)
}

func (s *Scope) setPlaying(on bool) {
	if s.model == nil || (on && s.cursor >= s.model.Len()-1) {
		on = false
	}
	s.playing = on
	if s.anim != nil {
		s.anim.play(on, s.stepMillis())
	}
}

// stepMillis is how long one event stays on screen while playing.
func (s *Scope) stepMillis() float64 {
	v, err := strconv.ParseFloat(s.speed, 64)
	if err != nil || v <= 0 {
		v = 4
	}
	return 1000 / v
}

// playStep advances one event while playing; the animator asks for it
// when the previous step's time is up.
func (s *Scope) playStep(ctx app.Context) {
	if !s.playing || s.model == nil {
		return
	}
	s.setCursor(ctx, s.cursor+1)
	if s.cursor >= s.model.Len()-1 {
		s.setPlaying(false)
	}
}

// onKey maps the keyboard (and presenter clickers, which send PageUp and
// PageDown) to the controls; handledKeys lists the keys it knows.
func (s *Scope) onKey(ctx app.Context, key string) {
	if s.model == nil {
		return
	}
	switch key {
	case "ArrowRight", "PageDown":
		s.jump(ctx, s.cursor+1)
	case "ArrowLeft", "PageUp":
		s.jump(ctx, s.cursor-1)
	case "Home":
		s.jump(ctx, 0)
	case "End":
		s.jump(ctx, s.model.Len()-1)
	case " ":
		s.setPlaying(!s.playing)
	}
}

// onStep moves by the clicked button's data-step (see gotoClicked for why
// not a closure).
func (s *Scope) onStep(ctx app.Context, e app.Event) {
	if d, err := strconv.Atoi(ctx.JSSrc().Get("dataset").Get("step").String()); err == nil {
		s.jump(ctx, s.cursor+d)
	}
}

// Render draws the controls and the panels for the cursor; the map itself
// is painted by the animator.
func (s *Scope) Render() app.UI {
	return app.Div().ID("skbscope").Class("skbscope").Body(
		s.header(),
		app.If(s.err != "", func() app.UI {
			return app.Div().ID("error").Class("error").Body(
				app.P().Text(s.err),
				app.P().Body(app.Text("Lessons: "), app.Range(lessons()).Slice(func(i int) app.UI {
					l := lessons()[i]
					return app.A().Href("/?lesson=" + url.QueryEscape(l.Name)).Text(l.Name + " ")
				})),
			)
		}).ElseIf(s.model == nil, func() app.UI {
			return app.P().Class("muted").Text("Loading the lesson…")
		}).Else(func() app.UI {
			return s.body()
		}),
	)
}

func (s *Scope) header() app.UI {
	ls := lessons()
	known, intro := false, ""
	for _, l := range ls {
		if l.Name == s.lesson {
			known, intro = true, l.Intro
		}
	}
	return app.Header().Class("top").Body(
		app.H1().Body(app.Span().Class("logo").Text("skbscope"), app.Span().Class("sub").Text(" what Linux 6.12 does with a packet")),
		app.Label().Class("lesson").Body(
			app.Text("Lesson "),
			app.Select().ID("lesson").OnChange(func(ctx app.Context, e app.Event) {
				ctx.Navigate("/?lesson=" + url.QueryEscape(ctx.JSSrc().Get("value").String()))
			}).Body(
				app.Range(ls).Slice(func(i int) app.UI {
					l := ls[i]
					return app.Option().Value(l.Name).Selected(l.Name == s.lesson).Text(l.Title)
				}),
				app.If(!known, func() app.UI {
					return app.Option().Value(s.lesson).Selected(true).Text(s.lesson)
				}),
			),
		),
		app.If(intro != "", func() app.UI { return app.P().Class("intro").Text(intro) }),
	)
}

func (s *Scope) body() app.UI {
	m, c := s.model, s.cursor
	last := m.Len() - 1
	play := "▶ play"
	if s.playing {
		play = "⏸ pause"
	}
	speed := s.speed
	if speed == "" {
		speed = "4"
	}
	return app.Div().Body(
		app.Div().Class("controls").Body(
			app.Button().ID("first").Title("first event (Home)").Disabled(c == 0).Text("|◀").
				Attr("data-seq", 0).OnClick(gotoClicked),
			app.Button().ID("back").Title("step back (←, PageUp)").Disabled(c == 0).Text("◀ back").
				Attr("data-step", -1).OnClick(s.onStep),
			app.Button().ID("play").Title("play / pause (Space)").Disabled(c == last && !s.playing).Text(play).
				OnClick(func(ctx app.Context, e app.Event) { s.setPlaying(!s.playing) }),
			app.Button().ID("fwd").Title("step forward (→, PageDown)").Disabled(c == last).Text("next ▶").
				Attr("data-step", 1).OnClick(s.onStep),
			app.Button().ID("last").Title("last event (End)").Disabled(c == last).Text("▶|").
				Attr("data-seq", last).OnClick(gotoClicked),
			app.Label().Class("speed").Body(
				app.Text("events/s "),
				app.Select().ID("speed").OnChange(func(ctx app.Context, e app.Event) {
					s.speed = ctx.JSSrc().Get("value").String()
					s.setPlaying(s.playing)
				}).Body(app.Range(speeds).Slice(func(i int) app.UI {
					return app.Option().Value(speeds[i]).Selected(speeds[i] == speed).Text(speeds[i])
				})),
			),
			app.Input().ID("scrub").Type("range").Min(0).Max(last).Value(c).Title("timeline").
				OnInput(func(ctx app.Context, e app.Event) {
					v, err := strconv.Atoi(ctx.JSSrc().Get("value").String())
					if err == nil {
						s.jump(ctx, v)
					}
				}),
			app.Span().ID("cursor").Class("cursor").Attr("data-cursor", c).Attr("data-last", last).
				Text(fmt.Sprintf("event %d / %d · t = %s µs", c, last, micros(m.T.Events[c].T))),
		),
		nowLine(m, c),
		app.Div().Class("map-wrap").Body(
			app.Canvas().ID("map").Class("map"),
		),
		app.Div().Class("legend").Body(
			app.Span().Class("ctx ctx-task").Text("process (task)"),
			app.Span().Class("ctx ctx-softirq").Text("softirq"),
			app.Span().Class("ctx ctx-hardirq").Text("hardirq"),
			app.Span().Class("ctx ctx-timer").Text("timer"),
			app.Span().Class("ctx ctx-hw").Text("hardware"),
		),
		app.Div().Class("panels").Body(
			&skbBox{V: m.skbAtCursor(c)},
			stackPanel(m, c),
		),
		logPanel(m, c),
	)
}
