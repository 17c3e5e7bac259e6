package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/scenario/live"
	"skbscope/stack/trace"
)

// liveMode is the Scope's live state; its zero value is "not live".
type liveMode struct {
	form    liveConfig // what the form shows
	open    bool       // the panel is unfolded
	run     *liveRun   // the current or last run
	link    linkState
	ops     []liveOp
	follow  bool
	err     string
	nextOp  int
	running bool
	replay  []byte // the replay file, taken when the run was disconnected
}

// liveRun is one live session and what only its goroutine touches.
type liveRun struct {
	sess  *live.Session
	stop  context.CancelFunc
	cfg   liveConfig
	names []string     // programs the page started; only in sess.Do
	seen  int          // Runner.Events at the last snapshot; only in sess.Do
	build atomic.Int64 // ns the page took to lay out the last snapshot
}

// Timing of the view while live.
const (
	livePoll = 400 * time.Millisecond // how often the trace is taken
	liveLag  = 600                    // most events the view may trail by
	liveTick = 4 * time.Millisecond   // the pump's catch-up tick in the browser
)

// liveMount reads the URL's fragment for a token (and maybe an order to
// connect), then takes it out of the address bar so that a shared link
// never carries it.
func (s *Scope) liveMount(ctx app.Context) {
	loc := app.Window().Get("location")
	page, _ := url.Parse(loc.Get("href").String())
	if page == nil {
		return
	}
	cfg, connect, ok := liveFragment(page.Fragment)
	if cfg.URL == "" {
		cfg.URL = bridgeURL(page)
	}
	if cfg.Addr == "" {
		cfg.Addr = "192.0.2.2/24"
	}
	s.live.form = cfg
	if !ok {
		return
	}
	s.live.open = true
	app.Window().Get("history").Call("replaceState", nil, "", loc.Get("pathname").String()+loc.Get("search").String())
	if connect {
		s.liveStart(ctx, cfg)
	}
}

// liveStart builds the live scenario and starts its run, the link to the
// bridge and the view's polling.
func (s *Scope) liveStart(ctx app.Context, cfg liveConfig) {
	l := s.v.Lang
	s.liveStop()
	if s.mnt {
		ctx = s.ctx
	}
	cfg.MAC = randomMAC()
	s.live.err = ""
	if cfg.Token == "" {
		s.live.err = l.t("The bridge needs its token (serve -tap prints it).")
		return
	}
	if _, err := withToken(cfg.URL, cfg.Token); err != nil {
		s.live.err = err.Error()
		return
	}
	f, err := liveScenario(cfg)
	if err != nil {
		s.live.err = err.Error()
		return
	}
	r, err := scenario.NewRunner(f)
	if err != nil {
		s.live.err = err.Error()
		return
	}
	// The lesson's run, if one is loading, is now stale.
	s.loadGen++
	// The live scenario becomes the page's custom one: navigating keeps
	// it until a lesson is chosen or the knobs re-run (s.start, which
	// ends the live run); loaded names no lesson, so choosing even the
	// one shown before loads it.
	s.loading, s.model, s.err, s.cursor, s.custom, s.loaded = false, nil, "", 0, f, runKey{}
	s.bp, s.logIdx, s.filter = nil, nil, logFilter{}
	s.setPlaying(false)
	if s.speed == "" {
		s.speed = "64"
	}
	runCtx, stop := context.WithCancel(context.Background())
	run := &liveRun{sess: live.New(r), stop: stop, cfg: cfg}
	run.sess.Tick = liveTick
	s.live.run, s.live.running, s.live.follow, s.live.open = run, true, true, true
	s.live.ops, s.live.link, s.live.replay = nil, linkState{State: linkConnecting}, nil
	go func() {
		err := run.sess.Run(runCtx)
		ended := runCtx.Err() == nil // by itself: the run reached its end
		stop()
		ctx.Dispatch(func(ctx app.Context) {
			if s.live.run == run && ended {
				s.live.running = false
				if err != nil {
					s.live.err = err.Error()
				}
			}
		})
	}()
	go func() {
		keepLinked(runCtx, run.sess, cfg, dialBridge, func(st linkState) {
			ctx.Dispatch(func(ctx app.Context) {
				if s.live.run == run {
					s.live.link = st
				}
			})
		})
	}()
	go func() {
		tick := time.NewTicker(livePoll)
		defer tick.Stop()
		var before map[string][]byte
		var shown time.Time
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			// Laying out a long trace takes a while: leave the page
			// four times as long to itself between snapshots.
			if time.Since(shown) < 4*time.Duration(run.build.Load()) {
				continue
			}
			t, got := run.take()
			if !changed(t, got, before) {
				continue // nothing to render
			}
			before, shown = got, time.Now()
			ctx.Dispatch(func(ctx app.Context) {
				if s.live.run == run {
					s.liveShow(ctx, t, got)
				}
			})
		}
	}()
}

// take snapshots the trace, unless no event has run since the last
// snapshot (then t is nil), and what each op's program received.
func (run *liveRun) take() (t *trace.Trace, got map[string][]byte) {
	got = map[string][]byte{}
	run.sess.Do(func(r *scenario.Runner) {
		if n := r.Events(); n != run.seen {
			run.seen = n
			t = snapshot(r)
		}
		for _, n := range run.names {
			got[n] = slices.Clone(r.Received(liveHost, n))
		}
	})
	return t, got
}

// changed reports whether a poll brought anything new to show.
func changed(t *trace.Trace, got, before map[string][]byte) bool {
	if t != nil || len(got) != len(before) {
		return true
	}
	for n, b := range got {
		if len(b) != len(before[n]) {
			return true
		}
	}
	return false
}

// liveShow puts a fresh snapshot on the page. Following, the view plays
// on towards the live end (so frames from the real network are animated
// into the RX ring like any other), skipping ahead when it trails by more
// than liveLag events.
func (s *Scope) liveShow(ctx app.Context, t *trace.Trace, got map[string][]byte) {
	for i := range s.live.ops {
		s.live.ops[i].Got = got[s.live.ops[i].Name]
	}
	if t == nil || len(t.Events) == 0 || s.model != nil && len(t.Events) == s.model.Len() {
		return
	}
	t0 := time.Now()
	old := s.model
	s.model = NewModel(t)
	s.live.run.build.Store(int64(time.Since(t0)))
	s.bp = remapBreaks(old, s.model, s.bp)
	s.cursor = s.model.Clamp(s.cursor)
	if s.live.follow && s.model.Len()-1-s.cursor > liveLag {
		s.cursor = s.model.Len() - 1 - liveLag
	}
	// A live trace has no first frame to hurry: its panels are on at once.
	s.full = true
	s.statusNow()
	if s.anim != nil {
		s.anim.jump(s.mapModel(), s.cursor, s.bp)
	}
	if s.live.follow && !s.playing {
		s.setPlaying(true)
	}
}

// remapBreaks carries breakpoints over to a model of a longer trace,
// whose stations may be numbered otherwise: by host and label.
func remapBreaks(old, m *Model, bp map[int]bool) map[int]bool {
	if old == nil || len(bp) == 0 {
		return bp
	}
	type key struct {
		host  int
		label string
	}
	at := map[key]int{}
	for i, st := range m.Stations {
		at[key{st.host, st.label}] = i
	}
	out := map[int]bool{}
	for i := range bp {
		if i >= 0 && i < len(old.Stations) {
			if j, ok := at[key{old.Stations[i].host, old.Stations[i].label}]; ok {
				out[j] = true
			}
		}
	}
	return out
}

// liveStop ends the live run at once (another lesson was chosen, or the
// page goes away).
func (s *Scope) liveStop() {
	if s.live.run != nil && s.live.running {
		s.live.run.stop()
	}
	s.live.running = false
}

// liveDisconnect ends the live run cleanly: the last snapshot is shown
// and the WebSocket closed with code 1000. The trace stays on the page,
// and its pcap and replay stay downloadable.
func (s *Scope) liveDisconnect(ctx app.Context) {
	run := s.live.run
	if run == nil || !s.live.running {
		return
	}
	t, got := run.take()
	s.liveShow(ctx, t, got)
	var f *scenario.File
	run.sess.Do(func(r *scenario.Runner) { f = r.Replay() })
	if f != nil {
		s.live.replay, _ = json.MarshalIndent(f, "", "  ")
	}
	s.liveStop()
	s.setPlaying(false)
}

// liveOp starts an op at the current time.
func (s *Scope) liveOp(ctx app.Context, kind string) {
	run := s.live.run
	if run == nil || !s.live.running {
		return
	}
	val := func(id string) string {
		el := app.Window().Get("document").Call("getElementById", id)
		if !el.Truthy() {
			return ""
		}
		return el.Get("value").String()
	}
	target, port, data := val("live-target"), portOf(val("live-port")), val("live-data")
	s.live.nextOp++
	name := fmt.Sprintf("%s-%d", kind, s.live.nextOp)
	op := liveOp{Kind: kind, Name: name, Target: target}
	p, err := opProgram(kind, name, target, port, data)
	if err == nil {
		err = run.sess.Do(func(r *scenario.Runner) {
			if err = r.AddProgram(liveHost, p); err == nil {
				run.names = append(run.names, name)
			}
		})
	}
	if err != nil {
		op.Err = err.Error()
	}
	s.live.ops = append(s.live.ops, op)
	s.live.follow = true
}

// download hands the browser a file to save.
func download(name, mime string, data []byte) {
	a := app.Window().Get("document").Call("createElement", "a")
	a.Set("href", "data:"+mime+";base64,"+base64.StdEncoding.EncodeToString(data))
	a.Set("download", name)
	a.Call("click")
}

// liveReplay downloads the run as a scenario file: the live host with the
// frames from the real network and the programs started, at their times.
func (s *Scope) liveReplay(ctx app.Context) {
	run := s.live.run
	if run == nil {
		return
	}
	b := s.live.replay
	var f *scenario.File
	if err := run.sess.Do(func(r *scenario.Runner) { f = r.Replay() }); err == nil {
		b, _ = json.MarshalIndent(f, "", "  ")
	}
	if b == nil {
		s.live.err = s.v.Lang.t("The run ended before its replay was taken.")
		return
	}
	download("skbscope-live.json", "application/json", b)
}

// livePcap downloads the frames on the bridged cable.
func (s *Scope) livePcap(ctx app.Context) {
	if s.model == nil {
		return
	}
	var b bytes.Buffer
	if err := s.model.T.WritePcap(&b, liveLink); err != nil {
		s.live.err = err.Error()
		return
	}
	download("skbscope-live.pcap", "application/vnd.tcpdump.pcap", b.Bytes())
}

// liveNote replaces "Loading the lesson…" while a live run has no event
// to show yet.
func (s *Scope) liveNote() string {
	if s.live.running {
		return s.v.Lang.t("Live: waiting for the first event…")
	}
	return s.v.Lang.t("Loading the lesson…")
}

// livePanel is the Live panel: the form to connect, then the link's
// state, the buttons and what each op got.
func (s *Scope) livePanel() app.UI {
	l, lv := s.v.Lang, &s.live
	input := func(id, label, typ, value, hint string) app.UI {
		return box("label", "", "",
			el("span", "", "", l.t(label)),
			app.ElemSelfClosing("input").ID(id).Attr("type", typ).Attr("value", value).Attr("placeholder", hint).Attr("spellcheck", "false"),
		)
	}
	return app.Elem("details").ID("live").Class("panel live").Attr("open", lv.open).Body(
		app.Elem("summary").Text(l.t("Live: bridge to a real network")).OnClick(func(ctx app.Context, e app.Event) {
			e.PreventDefault()
			lv.open = !lv.open
		}),
		app.If(lv.open, func() app.UI {
			return box("div", "", "",
				el("p", "", "muted", l.t("The simulated host's eth0 is cabled over a WebSocket to `serve -tap` and a real kernel on its TAP. The simulation runs on the wall clock; frames from outside are recorded, so the run can be replayed.")),
				app.If(!lv.running, func() app.UI {
					return box("div", "", "knobs",
						input("live-url", "bridge", "url", lv.form.URL, "ws://127.0.0.1:8080/bridge"),
						input("live-token", "token", "password", lv.form.Token, ""),
						input("live-addr", "address", "text", lv.form.Addr, "192.0.2.2/24"),
						app.Elem("button").ID("live-connect").Text(l.t("Connect")).OnClick(s.onLiveConnect),
					)
				}).Else(func() app.UI { return s.liveControls() }),
				app.If(lv.err != "", func() app.UI { return el("p", "live-err", "bad", lv.err) }),
				app.If(lv.run != nil, func() app.UI {
					return box("div", "", "knobs",
						app.Elem("button").ID("live-pcap").Attr("disabled", s.model == nil).Title(l.t("the frames on the bridged cable, for Wireshark")).
							Text(l.t("Download pcap")).OnClick(func(ctx app.Context, e app.Event) { s.livePcap(ctx) }),
						app.Elem("button").ID("live-replay").Attr("disabled", !lv.running && lv.replay == nil).Title(l.t("this run as a scenario: replays without a network")).
							Text(l.t("Download replay")).OnClick(func(ctx app.Context, e app.Event) { s.liveReplay(ctx) }),
					)
				}),
				box("ul", "live-ops", "live-ops", app.Range(lv.ops).Slice(func(i int) app.UI {
					o := lv.ops[i]
					return app.Elem("li").Attr("data-kind", o.Kind).Attr("data-bytes", len(o.Got)).Body(
						el("code", "", "", o.Name+" → "+o.Target),
						app.Text(" "+o.result(l)),
						app.If(o.Kind == opHTTP && len(o.Got) > 0, func() app.UI {
							return app.Elem("pre").Class("live-got").Style("max-height", "24em").Style("overflow", "auto").
								Text(string(o.Got[:min(len(o.Got), 4096)]))
						}),
					)
				})),
			)
		}),
	)
}

// liveControls are the status line and the op buttons of a running link.
func (s *Scope) liveControls() app.UI {
	l, lv := s.v.Lang, &s.live
	status := l.t("connecting…")
	switch lv.link.State {
	case linkUp:
		status = fmt.Sprintf(l.t("connected to %s as %s"), lv.run.cfg.URL, lv.run.cfg.MAC)
	case linkRetrying:
		status = fmt.Sprintf(l.t("connection lost (%s): reconnecting in %.1f s"), lv.link.Err, lv.link.RetryIn.Seconds())
	}
	if lv.link.Drops > 0 {
		status += " · " + fmt.Sprintf(l.t("%d reconnections"), lv.link.Drops)
	}
	btn := func(id, text, kind string) app.UI {
		return app.Elem("button").ID(id).Text(l.t(text)).OnClick(func(ctx app.Context, e app.Event) { s.liveOp(ctx, kind) })
	}
	return box("div", "", "",
		box("p", "", "",
			app.Elem("span").ID("live-status").Class("live-status").Attr("data-state", lv.link.State).Attr("data-drops", lv.link.Drops).Text(status),
			app.Text(" "),
			app.Elem("button").ID("live-disconnect").Text(l.t("Disconnect")).OnClick(func(ctx app.Context, e app.Event) { s.liveDisconnect(ctx) }),
		),
		box("div", "", "knobs",
			box("label", "", "", el("span", "", "", l.t("to")), app.ElemSelfClosing("input").ID("live-target").Attr("type", "text").Attr("value", "192.0.2.1")),
			box("label", "", "", el("span", "", "", l.t("port")), app.ElemSelfClosing("input").ID("live-port").Attr("type", "number").Attr("value", "8000")),
			box("label", "", "", el("span", "", "", l.t("UDP data")), app.ElemSelfClosing("input").ID("live-data").Attr("type", "text").Attr("value", "hello from skbscope")),
		),
		box("div", "", "knobs",
			btn("live-ping", "Ping", opPing),
			btn("live-udp", "Send UDP", opUDP),
			btn("live-tcp", "TCP connect", opTCP),
			btn("live-http", "HTTP GET /", opHTTP),
			box("label", "", "",
				app.ElemSelfClosing("input").ID("live-follow").Attr("type", "checkbox").Attr("checked", lv.follow).OnChange(func(ctx app.Context, e app.Event) {
					lv.follow = ctx.JSSrc().Get("checked").Bool()
				}),
				el("span", "", "", l.t("follow the live end")),
			),
		),
	)
}

// onLiveConnect reads the form and starts the live run.
func (s *Scope) onLiveConnect(ctx app.Context, e app.Event) {
	doc := app.Window().Get("document")
	get := func(id string) string {
		el := doc.Call("getElementById", id)
		if !el.Truthy() {
			return ""
		}
		return el.Get("value").String()
	}
	s.live.form = liveConfig{URL: get("live-url"), Token: get("live-token"), Addr: get("live-addr")}
	s.liveStart(ctx, s.live.form)
}
