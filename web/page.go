// Package web is skbscope's user interface: a go-app page that animates a
// lesson's trace on a stack map and explains each event in panels. The
// same package renders on the server (pre-rendering) and in the browser.
package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/stack/trace"
	"skbscope/web/explain"
)

// lessons lists the lessons once: scenario.Lessons parses every lesson
// file, too slow to repeat on each render in WebAssembly.
var lessons = sync.OnceValue(scenario.Lessons)

// DefaultLesson is opened when the URL names none and no lesson is listed.
const DefaultLesson = "udp-sendto"

// Routes registers the page. The URL's query holds the whole view (see
// view). The server serves it at / only; in the browser it answers any
// path, since the static export may be hosted under a prefix the page
// cannot know.
func Routes() {
	newScope := func() app.Composer { return &Scope{} }
	if app.IsClient {
		app.RouteWithRegexp("^/.*", newScope)
		return
	}
	app.Route("/", newScope)
}

// navigate opens view v at the current path.
func navigate(ctx app.Context, v view) {
	u := *ctx.Page().URL()
	u.RawQuery = v.query()
	ctx.NavigateTo(&u)
}

// Speeds offered while playing, in events per second.
var speeds = []string{"1", "2", "4", "8", "16", "64", "256"}

// Scope is the page. Its rendered fields change only when the cursor (or
// lesson, or play state) changes; the moving cards live in anim, which the
// render never reads.
type Scope struct {
	app.Compo

	v        view
	loaded   runKey // what model is a trace of
	custom   *scenario.File
	model    *Model
	err      string
	loading  bool
	progress float64
	loadGen  int
	cursor   int
	playing  bool
	speed    string
	bp       map[int]bool // breakpoints, by station
	help     bool
	filter   logFilter
	logIdx   []int // the events the log filter lets through; nil: all
	editor   editorState
	knobErr  string
	live     liveMode // bridged to a real network (live_panel.go)
	// full: the panels below the map are on the page. A new trace shows
	// its first frame without them and adds them once that frame is
	// painted (afterPaint), so the lesson appears sooner.
	full bool
	// panelsAt is when a play step last re-rendered the panels: while
	// playing fast, the map moves every frame but the panels follow at
	// most every panelEvery.
	panelsAt time.Time
	meta     scenario.Lesson // the open lesson's, listed alone until full
	pre      prerendered     // on the server: the first frame it rendered

	anim *animator
	msgs app.Func    // the postMessage listener of embed mode
	ctx  app.Context // the component's own context, from OnMount
	mnt  bool        // ctx is set
	// text is the fetch of each language's explanations (loadText):
	// errTextPending while on its way, nil once here, or why it failed.
	text map[lang]error
}

// OnMount starts the canvas animator, the keyboard and the embedding API
// (browser only).
func (s *Scope) OnMount(ctx app.Context) {
	s.ctx, s.mnt = ctx, true
	ctx.Handle(actionGoto, func(ctx app.Context, a app.Action) {
		if seq, ok := a.Value.(int); ok {
			s.jump(ctx, seq)
		}
	})
	s.anim = newAnimator("map", func() { ctx.Dispatch(s.playStep) })
	s.anim.listen(ctx, s.onKey)
	s.listenMessages(ctx)
	if s.model != nil {
		s.anim.jump(s.mapModel(), s.cursor, s.bp)
	}
	s.liveMount(ctx)
}

// OnDismount stops the animator, the keyboard and the embedding API.
func (s *Scope) OnDismount() {
	s.liveStop()
	if s.anim != nil {
		s.anim.close()
	}
	if s.msgs != nil {
		app.Window().Call("removeEventListener", "message", s.msgs)
		s.msgs.Release()
	}
}

// OnNav shows what the URL names, re-running the simulation only when the
// lesson or the knobs changed.
func (s *Scope) OnNav(ctx app.Context) {
	v := openView(ctx.Page().URL().Query())
	s.v = v
	if !app.IsClient {
		s.prerender(ctx.Page())
		return
	}
	if v.Page != "" {
		s.loadText(ctx, v.Lang)
		return
	}
	key := runKey{v.Lesson, v.Knobs}
	if s.custom == nil && (!key.same(s.loaded) || (s.model == nil && !s.loading && s.err == "")) {
		f, err := lessonFile(key)
		if err != nil {
			s.loaded = key
			s.show(nil, err)
			return
		}
		s.meta = scenario.Lesson{Name: f.Name, Title: f.Title, Seed: f.Seed, Intro: f.Intro}
		s.start(ctx, key, f)
		return
	}
	if s.model != nil {
		s.loadText(ctx, v.Lang)
		s.cursor = s.model.Clamp(v.C)
		s.statusNow()
		if s.anim != nil {
			s.anim.jump(s.mapModel(), s.cursor, s.bp)
			ctx.Defer(scrollLog)
		}
	}
}

// openView is the view a URL's query names, with the first lesson when
// it names none.
func openView(q url.Values) view {
	v := parseView(q)
	if v.Lesson == "" {
		v.Lesson = DefaultLesson
		if ls := lessons(); len(ls) > 0 {
			v.Lesson = ls[0].Name
		}
	}
	return v
}

// lessonFile is the scenario a lesson runs with its knobs applied.
func lessonFile(k runKey) (*scenario.File, error) {
	f, err := scenario.Load(k.Lesson)
	if err != nil {
		return nil, err
	}
	return k.Knobs.Apply(f)
}

// sliceTime is how long the simulation runs before it lets the browser
// paint and handle input: a flood lesson takes seconds in WebAssembly.
const sliceTime = 40 * time.Millisecond

// start simulates f and shows the trace. The first slice runs at once,
// so a small lesson goes straight to its first frame; a longer one goes
// on a slice at a time on its own goroutine, showing progress. A newer
// start makes an older one's results stale (loadGen). It works in the
// component's own context: the context of a click dies with the button,
// which loading removes.
func (s *Scope) start(ctx app.Context, key runKey, f *scenario.File) {
	if s.mnt {
		ctx = s.ctx
	}
	s.liveStop()
	s.loadGen++
	gen := s.loadGen
	s.loaded, s.model, s.err, s.loading, s.progress, s.playing = key, nil, "", true, 0, false
	s.bp, s.logIdx, s.filter = nil, nil, logFilter{}
	if s.anim != nil {
		s.anim.play(false, 0)
	}
	r := newRun(f)
	if r.slice() {
		s.finish(ctx, r)
		return
	}
	s.progress = r.progress()
	ctx.Async(func() {
		for done := false; !done; {
			yield()
			done = r.slice()
			p := r.progress()
			ctx.Dispatch(func(ctx app.Context) {
				if gen == s.loadGen {
					s.progress = p
				}
			})
		}
		ctx.Dispatch(func(ctx app.Context) {
			if gen == s.loadGen {
				s.finish(ctx, r)
			}
		})
	})
}

// finish shows a finished run at the URL's cursor; the panels follow
// once its first frame is painted.
func (s *Scope) finish(ctx app.Context, r *run) {
	s.show(r.result())
	if s.model == nil {
		return
	}
	s.cursor = s.model.Clamp(s.v.C)
	s.statusNow()
	if s.anim != nil {
		s.anim.jump(s.mapModel(), s.cursor, s.bp)
	}
	s.post(map[string]any{"event": "loaded", "lesson": s.v.Lesson, "last": s.model.Len() - 1})
	afterPaint(ctx, func(ctx app.Context) {
		s.full = true
		ctx.Defer(scrollLog)
		s.loadText(ctx, s.v.Lang)
	})
}

// run is a simulation that runs a slice at a time, so that the browser
// stays responsive between slices. A panic in the simulation becomes an
// error, so a bug in one lesson shows as a message, not a blank page.
type run struct {
	r   *scenario.Runner
	err error
}

func newRun(f *scenario.File) (u *run) {
	u = &run{}
	defer u.catch()
	u.r, u.err = scenario.NewRunner(f)
	return u
}

func (u *run) catch() {
	if r := recover(); r != nil {
		u.r, u.err = nil, fmt.Errorf("simulation failed: %v", r)
	}
}

// slice runs the simulation for about sliceTime and reports whether it
// has finished (or failed).
func (u *run) slice() (done bool) {
	defer func() {
		if u.r == nil {
			done = true
		}
	}()
	defer u.catch()
	if u.r == nil {
		return true
	}
	for t0 := time.Now(); time.Since(t0) < sliceTime; {
		if u.r.Step(2000) {
			return true
		}
	}
	return false
}

func (u *run) progress() float64 {
	if u.r == nil {
		return 1
	}
	return u.r.Progress()
}

// result is the finished run's trace, or why there is none.
func (u *run) result() (*trace.Trace, error) {
	if u.r == nil {
		return nil, u.err
	}
	return u.r.Trace(), nil
}

// yield lets the browser run its event loop once: it paints, takes input
// and answers other goroutines' JavaScript calls. A short time.Sleep is
// not enough: when the rendering that progress asked for outlasts it, the
// Go scheduler finds the sleeper due and never returns to the browser.
// On the server (pre-rendering) there is no event loop to wait for.
func yield() {
	if !app.IsClient {
		return
	}
	done := make(chan struct{})
	var f app.Func
	f = app.FuncOf(func(app.Value, []app.Value) any {
		close(done)
		f.Release()
		return nil
	})
	app.Window().Call("setTimeout", f, 0)
	<-done
}

// afterPaint runs f on the UI goroutine once the browser has painted the
// update in progress: the update is applied (Defer), then the next
// animation frame's callback dispatches f, whose update the engine makes
// on its next tick, after that frame. A page that is not shown gets no
// animation frames, so a timeout stands in for one.
func afterPaint(ctx app.Context, f func(app.Context)) {
	ctx.Defer(func(ctx app.Context) {
		var cb app.Func
		var rafID, timeoutID app.Value
		cb = app.FuncOf(func(app.Value, []app.Value) any {
			app.Window().Call("cancelAnimationFrame", rafID)
			app.Window().Call("clearTimeout", timeoutID)
			cb.Release()
			ctx.Dispatch(f)
			return nil
		})
		rafID = app.Window().Call("requestAnimationFrame", cb)
		timeoutID = app.Window().Call("setTimeout", cb, 250)
	})
}

// show puts a finished run on the page. Failures become a message: an
// unknown lesson or an empty trace must not break the UI.
func (s *Scope) show(t *trace.Trace, err error) {
	s.loading, s.model, s.err, s.cursor = false, nil, "", 0
	name := s.v.Lesson
	switch {
	case err != nil:
		s.err = fmt.Sprintf(s.v.Lang.t("Cannot show lesson %q: %v"), name, err)
	case t == nil || len(t.Events) == 0:
		s.err = fmt.Sprintf(s.v.Lang.t("Lesson %q produced no events."), name)
	default:
		s.model = NewModel(t)
	}
	s.full = s.model == nil // a message has nothing to hold back
}

// moveCursor moves the cursor and the cards to event c and tells an
// embedding page; it reports whether the cursor moved.
func (s *Scope) moveCursor(c int) bool {
	if s.model == nil {
		return false
	}
	c = s.model.Clamp(c)
	if c == s.cursor {
		return false
	}
	s.cursor = c
	if s.anim != nil {
		s.anim.move(c)
	}
	s.statusNow()
	s.post(map[string]any{"event": "frame", "frame": c, "last": s.model.Len() - 1})
	return true
}

// statusText is the status line: where the cursor is.
func (s *Scope) statusText() string {
	m, c := s.model, s.cursor
	return fmt.Sprintf(s.v.Lang.t("event %d / %d · t = %s µs"), c, m.Len()-1, micros(m.T.Events[c].T))
}

// statusNow writes the status line for the cursor straight into the page,
// so that it changes in the same frame as the map: the re-render comes a
// tick of go-app's engine later (or, playing fast, up to panelEvery
// later) and writes the same text and attribute again. It sets the text
// node's value and the attribute, as go-app does, so the nodes go-app
// holds stay the ones on the page. Every change of the cursor between
// renders must call it, or a render that finds its old value would leave
// the page showing a newer one.
func (s *Scope) statusNow() {
	if !app.IsClient || s.model == nil {
		return
	}
	el := app.Window().GetElementByID("cursor")
	if !el.Truthy() {
		return
	}
	if t := el.Get("firstChild"); t.Truthy() {
		t.Set("nodeValue", s.statusText())
	}
	el.Call("setAttribute", "data-cursor", strconv.Itoa(s.cursor))
}

// followCursor brings the URL and the event log's scroll to the cursor,
// as the page re-renders.
func (s *Scope) followCursor(ctx app.Context) {
	s.replaceURL(ctx)
	ctx.Defer(scrollLog)
}

// replaceURL writes the current view into the address bar without a
// navigation.
func (s *Scope) replaceURL(ctx app.Context) {
	v := s.v
	v.C = s.cursor
	if s.custom != nil {
		v.Lesson = ""
	}
	u := *ctx.Page().URL()
	u.RawQuery = v.query()
	ctx.Page().ReplaceURL(&u)
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

// jump stops playing and moves to event c: the panels re-render, the URL
// follows, the cards ease to their new places, an embedding page hears of
// it.
func (s *Scope) jump(ctx app.Context, c int) {
	s.setPlaying(false)
	s.moveCursor(c)
	s.followCursor(ctx)
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

// While playing faster than one event per slowStepMs, the panels follow
// the cursor at most every panelEvery. Re-rendering them costs about a
// frame, so doing it on every step (up to 256 a second) makes the map
// stutter; playing slower, every step re-renders them.
const (
	panelEvery = 400 * time.Millisecond
	slowStepMs = 250
)

// playStep advances one event while playing; the animator asks for it
// when the previous step's time is up. The map shows every step; the
// panels and the URL only every panelEvery and at the end.
func (s *Scope) playStep(ctx app.Context) {
	if !s.playing || s.model == nil {
		return
	}
	if !s.moveCursor(s.cursor + 1) {
		ctx.PreventUpdate()
		return
	}
	if s.cursor >= s.model.Len()-1 {
		s.setPlaying(false)
	} else if s.stepMillis() < slowStepMs && time.Since(s.panelsAt) < panelEvery {
		ctx.PreventUpdate()
		return
	}
	s.panelsAt = time.Now()
	s.followCursor(ctx)
}

// move names a cursor motion, for keys, buttons and the embedding API.
func (s *Scope) move(ctx app.Context, how string) {
	m, c := s.model, s.cursor
	if m == nil {
		return
	}
	switch how {
	case "next":
		s.jump(ctx, c+1)
	case "prev":
		s.jump(ctx, c-1)
	case "first":
		s.jump(ctx, 0)
	case "last":
		s.jump(ctx, m.Len()-1)
	case "into":
		s.jump(ctx, m.stepInto(c))
	case "over":
		s.jump(ctx, m.stepOver(c))
	case "out":
		s.jump(ctx, m.stepOut(c))
	case "wire":
		s.jump(ctx, m.nextWire(c))
	case "continue":
		s.jump(ctx, s.mapModel().nextBreak(c, s.bp))
	case "break":
		s.toggleBreak(s.mapModel().evStation[c])
	case "zoom":
		s.toggleZoom(ctx)
	case "play":
		s.setPlaying(!s.playing)
		s.followCursor(ctx) // playing, the URL lagged behind
	case "nextChapter", "prevChapter":
		if ch := m.chapterFrom(c, how == "nextChapter"); ch >= 0 {
			s.jump(ctx, ch)
		}
	}
}

// keyMoves maps the keyboard (and presenter clickers, which send PageUp
// and PageDown) to moves. The letters are gdb's: s step, n next, f
// finish, c continue, b break.
var keyMoves = map[string]string{
	"ArrowRight": "next", "PageDown": "next", "ArrowLeft": "prev", "PageUp": "prev",
	"Home": "first", "End": "last", " ": "play",
	"s": "into", "n": "over", "f": "out", "w": "wire", "c": "continue", "b": "break", "B": "break",
	"]": "nextChapter", "[": "prevChapter", "z": "zoom", "Z": "zoom",
}

// onKey handles a key the animator's listener passed on (handledKeys).
func (s *Scope) onKey(ctx app.Context, key string) {
	switch key {
	case "?":
		s.help = !s.help
		return
	case "Escape":
		s.help = false
		return
	case "l":
		s.setLecture(ctx, !s.v.Lecture)
		return
	}
	s.move(ctx, keyMoves[key])
}

// onMove runs the clicked button's data-move (see gotoClicked for why not
// a closure).
func (s *Scope) onMove(ctx app.Context, e app.Event) {
	s.move(ctx, ctx.JSSrc().Get("dataset").Get("move").String())
}

func (s *Scope) toggleBreak(st int) {
	if st < 0 {
		return
	}
	if s.bp == nil {
		s.bp = map[int]bool{}
	}
	if s.bp[st] {
		delete(s.bp, st)
	} else {
		s.bp[st] = true
	}
	if s.anim != nil {
		s.anim.breaks(s.bp)
	}
}

// onMapClick sets or clears a breakpoint on the clicked station. The
// canvas is scaled by CSS, so the click is mapped back to map units.
func (s *Scope) onMapClick(ctx app.Context, e app.Event) {
	mm := s.mapModel()
	if mm == nil {
		return
	}
	w := ctx.JSSrc().Get("clientWidth").Float()
	if w <= 0 {
		return
	}
	k := float32(float64(mm.W) / w)
	s.toggleBreak(mm.stationAt(float32(e.Get("offsetX").Float())*k, float32(e.Get("offsetY").Float())*k))
}

func (s *Scope) setLecture(ctx app.Context, on bool) {
	s.v.Lecture = on
	s.replaceURL(ctx)
}

// Render draws the controls and the panels for the cursor; the map itself
// is painted by the animator.
func (s *Scope) Render() app.UI {
	l := s.v.Lang
	cls := "skbscope"
	if s.v.Lecture {
		cls += " lecture"
	}
	if s.v.Embed {
		cls += " embed"
	}
	root := s.pre.root(app.Elem("div").ID("skbscope").Class(cls).Lang(l.html()))
	if s.v.Page == "lessons" {
		return root.Body(s.header(), lessonsPage(s.v))
	}
	return root.Body(
		app.If(!s.v.Embed, func() app.UI { return &keyedPart{Key: s.headerKey(), render: s.header} }),
		app.If(s.err != "", func() app.UI {
			return box("div", "error", "error",
				el("p", "", "", s.err),
				box("p", "", "", app.Text(l.t("Lessons")+": "), app.Range(lessons()).Slice(func(i int) app.UI {
					n := lessons()[i].Name
					return app.A().Href(view{Lesson: n, Lang: l}.href()).Text(n + " ")
				})),
			)
		}).ElseIf(s.loading, func() app.UI {
			return box("div", "loading", "loading",
				app.Elem("label").Attr("for", "progress").Text(l.t("Simulating the lesson…")),
				app.Elem("progress").ID("progress").Attr("max", 1000).Attr("value", int(s.progress*1000)).
					Aria("valuenow", int(s.progress*100)).Text(fmt.Sprintf("%d%%", int(s.progress*100))),
			)
		}).ElseIf(s.model == nil, func() app.UI {
			return el("p", "", "muted", s.liveNote())
		}).Else(s.body),
		app.If(!s.v.Embed, s.livePanel),
		app.If(s.help, func() app.UI { return helpOverlay(l) }),
	)
}

// keyedPart is a part of the page (the header, the what-if form) as a
// component that renders again only when its Key changes: go-app
// compares a component's exported fields before rendering it, and the
// step after step of a lesson leaves these parts as they were. Key must
// hold everything the part shows; render, unexported, stays the one from
// the first mount (the page has one Scope).
type keyedPart struct {
	app.Compo
	Key    string
	render func() app.UI
}

// Render implements app.Composer.
func (p *keyedPart) Render() app.UI { return p.render() }

// headerKey is what the header shows: the view without its cursor,
// whether a trace or an edited scenario is loaded, and whether the lesson
// titles in the view's language are (loadText).
func (s *Scope) headerKey() string {
	v := s.v
	v.C = 0
	return fmt.Sprintf("%+v|%t|%t|%t|%s|%t", v, s.custom != nil, s.model != nil, s.full, s.meta.Name, explain.Loaded(string(v.Lang)))
}

// whatIfKey is what the what-if form shows: the view without its cursor,
// the knobs' error and the editor.
func (s *Scope) whatIfKey() string {
	v := s.v
	v.C = 0
	return fmt.Sprintf("%+v|%s|%+v", v, s.knobErr, s.editor)
}

func (s *Scope) header() app.UI {
	l := s.v.Lang
	// Until the panels are on, the lesson menu holds the open lesson only:
	// listing them all means reading every lesson file, which can wait
	// for the first frame.
	ls := []scenario.Lesson{s.meta}
	if s.full || s.meta.Name == "" || s.meta.Name != s.v.Lesson {
		ls = nil
	}
	if s.full {
		ls = lessons()
	}
	known, intro := false, ""
	for _, x := range ls {
		if x.Name == s.v.Lesson {
			known = true
			_, intro = lessonText(l, x)
		}
	}
	if s.custom != nil {
		known, intro = false, ""
	}
	return box("header", "", "top",
		box("h1", "", "", el("span", "", "logo", "skbscope"), el("span", "", "sub", " "+l.t("what Linux 6.12 does with a packet"))),
		app.If(s.v.Page == "", func() app.UI {
			return box("label", "", "lesson",
				app.Text(l.t("Lesson")+" "),
				app.Elem("select").ID("lesson").OnChange(func(ctx app.Context, e app.Event) {
					s.custom = nil
					navigate(ctx, view{Lesson: ctx.JSSrc().Get("value").String(), Lang: s.v.Lang, Lecture: s.v.Lecture})
				}).Body(
					app.Range(ls).Slice(func(i int) app.UI {
						title, _ := lessonText(l, ls[i])
						return option(ls[i].Name, ls[i].Name == s.v.Lesson && s.custom == nil, title)
					}),
					app.If(!known, func() app.UI {
						name := s.v.Lesson
						if s.custom != nil {
							name = l.t("edited scenario")
						}
						return option(s.v.Lesson, true, name)
					}),
				),
			)
		}),
		box("nav", "", "tools",
			app.A().ID("to-lessons").Href(view{Page: "lessons", Lang: l, Lecture: s.v.Lecture}.href()).Text(l.t("All lessons")),
			app.Elem("select").ID("lang").Aria("label", l.t("Language")).OnChange(func(ctx app.Context, e app.Event) {
				s.v.Lang = parseLang(ctx.JSSrc().Get("value").String())
				s.replaceURL(ctx)
			}).Body(app.Range(langs).Slice(func(i int) app.UI {
				return option(string(langs[i]), langs[i] == l, langs[i].name())
			})),
			app.Elem("button").ID("lecture").Aria("pressed", s.v.Lecture).Title(l.t("projector theme (L)")).
				Text(l.t("Lecture mode")).OnClick(func(ctx app.Context, e app.Event) { s.setLecture(ctx, !s.v.Lecture) }),
			app.Elem("button").ID("fullscreen").Text(l.t("Fullscreen")).OnClick(func(ctx app.Context, e app.Event) {
				if app.Window().Get("document").Get("fullscreenElement").Truthy() {
					app.Window().Get("document").Call("exitFullscreen")
				} else {
					app.Window().Get("document").Get("documentElement").Call("requestFullscreen")
				}
			}),
			app.Elem("button").ID("pcap").Title(l.t("every frame on the wires, for Wireshark")).Text(l.t("Download pcap")).
				Attr("disabled", s.model == nil).OnClick(func(ctx app.Context, e app.Event) {
				if s.model == nil {
					return
				}
				a := app.Window().Get("document").Call("createElement", "a")
				a.Set("href", pcapHref(s.model))
				a.Set("download", pcapName(s.model))
				a.Call("click")
			}),
			app.Elem("button").ID("help-btn").Title("?").Text(l.t("Keys")+" (?)").OnClick(func(ctx app.Context, e app.Event) { s.help = !s.help }),
		),
		app.If(intro != "", func() app.UI { return el("p", "", "intro", intro) }),
	)
}

// lessonText is a lesson's title and introduction in l, in English where
// there is no translation yet.
func lessonText(l lang, x scenario.Lesson) (title, intro string) {
	if t, in, ok := explainLesson(string(l), x.Name); ok {
		return t, in
	}
	return x.Title, x.Intro
}

func (s *Scope) body() app.UI {
	m, c, l := s.model, s.cursor, s.v.Lang
	last := m.Len() - 1
	play := "▶ " + l.t("play")
	if s.playing {
		play = "⏸ " + l.t("pause")
	}
	speed := s.speed
	if speed == "" {
		speed = "4"
	}
	// The stepping buttons: id and data-move, text around a translated
	// word, a translated title with its keys, and whether it is disabled.
	// A table, not a call each: each call site costs app.wasm.
	moves := []struct {
		id, move, pre, word, post, title, keys string
		off                                    bool
	}{
		{"first", "first", "|◀", "", "", "first event", "Home", c == 0},
		{"back", "prev", "◀ ", "back", "", "step back", "←, PageUp", c == 0},
		{"play", "play", play, "", "", "play / pause", "Space", c == last && !s.playing},
		{"fwd", "next", "", "next", " ▶", "step forward", "→, PageDown", c == last},
		{"last", "last", "▶|", "", "", "last event", "End", c == last},
		{"into", "into", "", "into", "", "step into", "s", c == last},
		{"over", "over", "", "over", "", "step over", "n", c == last},
		{"out", "out", "", "out", "", "step out", "f", c == last},
		{"wire", "wire", "", "wire", "", "next frame on the wire", "w", c == last},
		{"cont", "continue", "", "continue", "", "run to the next breakpoint", "c", len(s.bp) == 0},
		{"break", "break", "● ", "break", "", "breakpoint on this station", "b", false},
	}
	btns := make([]app.UI, 0, len(moves)+3)
	for _, b := range moves {
		text := b.pre
		if b.word != "" {
			text += l.t(b.word)
		}
		btns = append(btns, app.Elem("button").ID(b.id).Title(l.t(b.title)+" ("+b.keys+")").Attr("disabled", b.off).Text(text+b.post).
			Attr("data-move", b.move).OnClick(s.onMove))
	}
	return box("div", "", "",
		app.If(!s.v.Embed, func() app.UI {
			return app.Elem("div").Class("controls").Role("toolbar").Aria("label", l.t("Controls")).Body(append(btns,
				zoomButton(l, s.v.Zoom).OnClick(s.onMove),
				box("label", "", "speed",
					app.Text(l.t("events/s")+" "),
					app.Elem("select").ID("speed").OnChange(func(ctx app.Context, e app.Event) {
						s.speed = ctx.JSSrc().Get("value").String()
						s.setPlaying(s.playing)
					}).Body(app.Range(speeds).Slice(func(i int) app.UI {
						return option(speeds[i], speeds[i] == speed, speeds[i])
					})),
				),
				chapterSelect(l, m, c),
			)...)
		}),
		app.If(!s.v.Embed, func() app.UI {
			return box("div", "", "timeline",
				app.ElemSelfClosing("input").ID("scrub").Attr("type", "range").Attr("min", 0).Attr("max", last).Attr("value", c).Aria("label", l.t("timeline")).
					OnInput(func(ctx app.Context, e app.Event) {
						if v, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
							s.jump(ctx, v)
						}
					}),
				&markRow{M: m},
			)
		}),
		box("div", "", "status",
			app.Elem("span").ID("cursor").Class("cursor").Attr("data-cursor", c).Attr("data-last", last).Attr("data-full", s.full).
				Text(s.statusText()),
			app.If(len(s.bp) > 0, func() app.UI {
				return el("span", "breaks", "breaks", fmt.Sprintf(l.t("%d breakpoints"), len(s.bp)))
			}),
		),
		app.Elem("p").ID("narration").Class("narration").Aria("live", "polite").Text(narrate(l, m, c)),
		app.If(s.v.shows("now"), func() app.UI { return nowLine(l, m, c) }),
		app.If(s.v.shows("map"), func() app.UI {
			return box("div", "", "map-wrap",
				s.pre.canvas(app.Elem("canvas").ID("map").Class("map").Aria("label", l.t("stack map: click a station to set a breakpoint")).
					Role("img").OnClick(s.onMapClick)),
				&stationList{M: s.mapModel(), Zoom: s.v.Zoom},
			)
		}),
		app.If(!s.v.Embed, func() app.UI {
			return box("div", "", "legend",
				el("span", "", "ctx ctx-task", l.t("process (task)")),
				el("span", "", "ctx ctx-softirq", "softirq"),
				el("span", "", "ctx ctx-hardirq", "hardirq"),
				el("span", "", "ctx ctx-timer", l.t("timer")),
				el("span", "", "ctx ctx-hw", l.t("hardware")),
				el("span", "", "bp-legend", "● "+l.t("breakpoint")),
				el("span", "", "drop-legend", "✕ "+l.t("drop")),
			)
		}),
		app.If(s.full, s.panels),
	)
}

// panels are everything below the map, left out of a new trace's first
// frame (see Scope.full).
func (s *Scope) panels() app.UI {
	m, c, l := s.model, s.cursor, s.v.Lang
	return box("div", "", "",
		box("div", "", "panels",
			app.If(s.v.shows("skb"), func() app.UI { return &skbBox{V: m.skbAtCursor(c), L: l} }),
			app.If(s.v.shows("stack"), func() app.UI { return stackPanel(l, m, c) }),
			app.If(s.v.shows("fn"), func() app.UI { return fnPanel(l, m, c, s.text[l]) }),
			app.If(s.v.shows("socks"), func() app.UI { return sockPanel(l, m.sockRows(c)) }),
			app.If(s.v.shows("socks") && len(m.tcpStates()) > 0, func() app.UI { return &tcpStateBox{M: m, C: c, L: l} }),
			app.If(s.v.shows("tcp") && m.hasTCP(), func() app.UI { return tcpPanel(l, m, c) }),
			app.If(s.v.shows("ladder"), func() app.UI { return ladderPanel(l, m, c) }),
		),
		app.If(s.v.shows("log"), func() app.UI { return s.logPanel() }),
		app.If(!s.v.Embed, func() app.UI { return &keyedPart{Key: s.whatIfKey(), render: s.whatIf} }),
	)
}

// markRow is the timeline's ticks, a component so that it renders once
// per trace, not on every step.
type markRow struct {
	app.Compo
	M *Model
}

// Render implements app.Composer.
func (r *markRow) Render() app.UI {
	ms := r.M.marks()
	return app.Elem("div").ID("marks").Class("marks").Aria("hidden", true).Body(
		app.Range(ms).Slice(func(i int) app.UI {
			k := ms[i]
			return app.Elem("span").Class("mark "+markClass[k.kind]).
				Style("left", fmt.Sprintf("%.1f%%", float64(k.pos)/10)).
				Attr("data-seq", k.seq).OnClick(gotoClicked)
		}),
	)
}

// helpOverlay lists the keys.
func helpOverlay(l lang) app.UI {
	keys := [][2]string{
		{"Space", l.t("play / pause")},
		{"→ PageDown", l.t("step forward")},
		{"← PageUp", l.t("step back")},
		{"Home End", l.t("first / last event")},
		{"s", l.t("step into")},
		{"n", l.t("step over")},
		{"f", l.t("step out")},
		{"w", l.t("next frame on the wire")},
		{"b", l.t("breakpoint on this station")},
		{"c", l.t("run to the next breakpoint")},
		{"[ ]", l.t("previous / next chapter")},
		{"z", l.t("zoom: layers only / every function")},
		{"l", l.t("projector theme (L)")},
		{"?", l.t("this help")},
		{"Esc", l.t("close")},
	}
	return app.Elem("div").ID("help").Class("help").Role("dialog").Aria("label", l.t("Keys")).Body(
		el("h2", "", "", l.t("Keys")),
		box("table", "", "", app.Range(keys).Slice(func(i int) app.UI {
			return box("tr", "", "", box("td", "", "", el("kbd", "", "", keys[i][0])), el("td", "", "", keys[i][1]))
		})),
		el("p", "", "muted", l.t("Click a station on the map to set or clear a breakpoint.")),
	)
}

// narrate is the one sentence a screen reader hears per frame.
func narrate(l lang, m *Model, c int) string {
	e := &m.T.Events[c]
	return fmt.Sprintf(l.t("Event %d of %d, host %s, %s: %s."), c, m.Len()-1, e.Host, e.Ctx, describeIn(l, e))
}

// editorState is the scenario editor: the text and its errors by line.
type editorState struct {
	open bool
	text string
	errs []lineErr
}

// lineErr is one scenario error and the line it is about (0: unknown).
type lineErr struct {
	Line int
	Msg  string
}

// parseErrors splits scenario.Parse's error into one message per line,
// each with the line it names ("line 6, column 24: …").
func parseErrors(err error) []lineErr {
	var out []lineErr
	for _, msg := range strings.Split(err.Error(), "\n") {
		if msg == "" {
			continue
		}
		le := lineErr{Msg: msg}
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			n, _, _ := strings.Cut(rest, ",")
			if k, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
				le.Line = k
			}
		}
		out = append(out, le)
	}
	return out
}

// whatIf is the knobs form and the scenario editor.
func (s *Scope) whatIf() app.UI {
	l, k := s.v.Lang, s.v.Knobs
	field := func(id, label, unit string, v string) app.UI {
		return box("label", "", "",
			el("span", "", "", l.t(label)),
			app.ElemSelfClosing("input").ID("knob-"+id).Attr("name", id).Attr("type", "number").Attr("value", v).Attr("placeholder", l.t("lesson's")),
			el("span", "", "muted", unit),
		)
	}
	choice := func(id, label, cur string, opts ...string) app.UI {
		return box("label", "", "",
			el("span", "", "", l.t(label)),
			app.Elem("select").ID("knob-"+id).Attr("name", id).Body(
				option(unset, cur == "", l.t("lesson's")),
				app.Range(opts).Slice(func(i int) app.UI {
					return option(opts[i], cur == opts[i], opts[i])
				}),
			),
		)
	}
	str := func(v int64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatInt(v, 10)
	}
	loss := ""
	if k.LossPct != 0 {
		loss = strconv.FormatFloat(k.LossPct, 'g', -1, 64)
	}
	return box("section", "whatif", "panel whatif",
		el("h2", "", "", l.t("What if…")),
		box("div", "", "knobs",
			field(qMTU, "MTU", "bytes", str(int64(k.MTU))),
			field(qRate, "link rate", "bit/s", str(k.RateBps)),
			field(qDelay, "link delay", "ns", str(k.DelayNs)),
			field(qLoss, "loss", "%", loss),
			field(qTxQLen, "txqueuelen", "packets", str(int64(k.TxQueueLen))),
			field(qSndBuf, "SO_SNDBUF", "bytes", str(int64(k.SndBuf))),
			field(qRcvBuf, "SO_RCVBUF", "bytes", str(int64(k.RcvBuf))),
			choice(qQdisc, "qdisc", k.Qdisc, "pfifo_fast", "pfifo", "bfifo", "fq_codel"),
			choice(qModel, "NIC", k.Model, "e1000e", "cs89x0", "dm9000"),
			&stateKnobsBox{L: l, Lesson: s.v.Lesson, K: k},
			app.Elem("button").ID("knobs-run").Text(l.t("Re-run")).OnClick(s.onKnobs),
			app.If(s.knobErr != "", func() app.UI { return el("p", "knob-err", "bad", s.knobErr) }),
			app.Elem("button").ID("knobs-reset").Text(l.t("Reset")).OnClick(func(ctx app.Context, e app.Event) {
				v := s.v
				v.Knobs, v.C = scenario.Knobs{}, 0
				navigate(ctx, v)
			}),
		),
		app.Elem("details").ID("editor").Attr("open", s.editor.open).Body(
			app.Elem("summary").Text(l.t("Edit the scenario")).OnClick(func(ctx app.Context, e app.Event) {
				e.PreventDefault()
				s.editor.open = !s.editor.open
				if s.editor.open && s.editor.text == "" {
					s.editor.text = s.scenarioText()
				}
			}),
			app.If(s.editor.open, s.editorBody),
		),
	)
}

// scenarioText is the current lesson as JSON, for the editor to start from.
func (s *Scope) scenarioText() string {
	f := s.custom
	if f == nil {
		var err error
		if f, err = lessonFile(s.loaded); err != nil {
			return ""
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

func (s *Scope) editorBody() app.UI {
	l := s.v.Lang
	lines := strings.Count(s.editor.text, "\n") + 1
	bad := map[int]bool{}
	for _, e := range s.editor.errs {
		bad[e.Line] = true
	}
	gutter := make([]app.UI, lines)
	for i := range gutter {
		g := app.Elem("div").Text(strconv.Itoa(i + 1))
		if bad[i+1] {
			g = g.Class("bad")
		}
		gutter[i] = g
	}
	return box("div", "", "editor",
		box("div", "", "edit-area",
			app.Elem("div").ID("gutter").Class("gutter").Aria("hidden", true).Body(gutter...),
			app.Elem("textarea").ID("scenario-text").Aria("label", l.t("Scenario JSON")).Attr("spellcheck", "false").Attr("rows", min(lines, 30)).
				Text(s.editor.text).
				OnInput(func(ctx app.Context, e app.Event) { s.editor.text = ctx.JSSrc().Get("value").String() }).
				OnScroll(func(ctx app.Context, e app.Event) {
					app.Window().GetElementByID("gutter").Set("scrollTop", ctx.JSSrc().Get("scrollTop"))
				}),
		),
		box("ul", "editor-errors", "errors", app.Range(s.editor.errs).Slice(func(i int) app.UI {
			e := s.editor.errs[i]
			return app.Elem("li").Attr("data-line", e.Line).Text(e.Msg)
		})),
		app.Elem("button").ID("editor-run").Text(l.t("Run the edited scenario")).OnClick(s.onRunEdited),
	)
}

// onRunEdited parses the editor's text and, if it is a valid scenario,
// simulates it in place of the lesson.
func (s *Scope) onRunEdited(ctx app.Context, e app.Event) {
	f, err := scenario.Parse([]byte(s.editor.text))
	if err != nil {
		s.editor.errs = parseErrors(err)
		return
	}
	s.editor.errs = nil
	s.custom = f
	s.v.C = 0
	s.start(ctx, runKey{Lesson: s.v.Lesson}, f)
}

// onKnobs reads the knob fields and reopens the lesson with them.
func (s *Scope) onKnobs(ctx app.Context, e app.Event) {
	doc := app.Window().Get("document")
	get := func(id string) string {
		el := doc.Call("getElementById", "knob-"+id)
		if !el.Truthy() {
			return ""
		}
		return formValue(el.Get("value").String())
	}
	vals := map[string][]string{}
	for _, k := range []string{qMTU, qRate, qDelay, qLoss, qTxQLen, qSndBuf, qRcvBuf, qQdisc, qModel} {
		vals[k] = []string{get(k)}
	}
	v := s.v
	v.Knobs = parseView(vals).Knobs
	readStateKnobs(&v.Knobs)
	v.C = 0
	if _, err := lessonFile(runKey{v.Lesson, v.Knobs}); err != nil {
		s.knobErr = err.Error()
		return
	}
	s.knobErr, s.custom = "", nil
	navigate(ctx, v)
}

// el is a text element with an id and a class when they are not empty:
// one call where a builder chain (app.P().ID(id).Class(c).Text(s)) makes
// up to four, and each call site costs app.wasm a few hundred bytes.
//
// The page builds its elements with app.Elem(tag) rather than go-app's
// typed constructors (app.Div, app.P, ...) wherever it needs nothing
// element-specific (an attribute is set with Attr): each typed element in
// use brings some twenty methods, about 5 kB, into app.wasm.
func el(tag, id, class string, text any) app.UI {
	e := app.Elem(tag)
	if id != "" {
		e = e.ID(id)
	}
	if class != "" {
		e = e.Class(class)
	}
	return e.Text(text)
}

// box is el for an element holding other elements.
func box(tag, id, class string, body ...app.UI) app.UI {
	e := app.Elem(tag)
	if id != "" {
		e = e.ID(id)
	}
	if class != "" {
		e = e.Class(class)
	}
	return e.Body(body...)
}

// option is a select's option, in one call (see el).
func option(value any, selected bool, text string) app.UI {
	return app.Elem("option").Attr("value", value).Attr("selected", selected).Text(text)
}
