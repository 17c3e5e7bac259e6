//go:build !js

package web

import (
	"encoding/base64"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/stack/trace"
	"skbscope/web/explain"
)

// Pre-rendering. go-app renders the page on the server before it sends
// it, and the browser shows that HTML while it fetches, compiles and
// starts app.wasm; the app's own render then replaces it. The server has
// the whole simulation natively, so it simulates the view's lesson and
// renders its first frame: header, controls, status line, narration and
// the stack map, which skbscope.js draws from the frame's command buffer
// (the bytes the app's animator would hand it). A lesson that takes
// longer than prerenderBudget to simulate, or a server busy with another
// one, leaves the page as the loading message.

// prerendered is what the server rendered into the page.
type prerendered struct {
	done  bool   // the page holds the first frame of the view of query
	query string // the URL's raw query: skbscope.js shows the frame only at that address
	frame string // the stack map's command buffer, base64
}

// root marks the page as pre-rendered, and for which address.
func (p prerendered) root(d app.HTMLElem) app.HTMLElem {
	if !p.done {
		return d
	}
	return d.Attr("data-prerender", "?"+p.query) // go-app leaves out an empty attribute
}

// canvas carries the map's frame to skbscope.js.
func (p prerendered) canvas(c app.HTMLElem) app.HTMLElem {
	if p.frame == "" {
		return c
	}
	return c.Attr("data-frame", p.frame)
}

const (
	// prerenderBudget bounds the wall time one simulation may take while
	// a request waits for it (the server's clock, not the simulation's).
	prerenderBudget = 300 * time.Millisecond
	// prerenderTraces is how many lessons' traces are kept, and
	// prerenderEvents the longest trace kept: the rest are simulated again.
	prerenderTraces = 32
	prerenderEvents = 50_000
)

// prerender renders the first frame of the view (s.v) as the server
// sends it for page, and has the browser fetch the view's language file
// (explain.Load) while it loads app.wasm.
func (s *Scope) prerender(page app.Page) {
	rawQuery := page.URL().RawQuery
	page.SetPreloads(app.Preload{
		Href: explain.DataPath(string(s.v.Lang)) + " crossorigin=anonymous", // as explain.Load asks for it
		As:   "fetch",
		Type: "application/json",
	})
	if s.v.Page == "" {
		r, ok := firstRuns.get(runKey{s.v.Lesson, s.v.Knobs})
		if !ok {
			return
		}
		s.meta = r.meta
		s.show(r.t, r.err)
		if s.model != nil {
			s.cursor = s.model.Clamp(s.v.C)
			if s.v.shows("map") {
				var d cmdBuf
				s.mapModel().Draw(&d, Frame{From: s.cursor, To: s.cursor, P: 1})
				s.pre.frame = base64.StdEncoding.EncodeToString(d.b)
			}
		}
	}
	s.pre.done, s.pre.query = true, rawQuery
}

// Prewarm simulates the first lesson, so that the first visitor's page
// does not wait for it.
func Prewarm() { firstRuns.get(runKey{Lesson: openView(nil).Lesson}) }

// firstRun is a lesson's simulation as pre-rendering keeps it. A trace
// is never changed once recorded, so requests share it; each builds its
// own Model (which fills in parts of itself as it is read).
type firstRun struct {
	meta scenario.Lesson
	t    *trace.Trace
	err  error
}

// runCache keeps recent runs, and runs one simulation at a time: a
// request that finds another simulating gets no first frame rather than
// waiting, so a flood of requests for new views costs one core at most.
type runCache struct {
	sem   chan struct{}
	mu    sync.Mutex
	runs  map[string]firstRun
	order []string // keys, oldest first
}

var firstRuns = &runCache{sem: make(chan struct{}, 1), runs: map[string]firstRun{}}

// get returns k's run, simulating it if it is not kept; false if it
// could not be had within prerenderBudget.
func (c *runCache) get(k runKey) (firstRun, bool) {
	key := view{Lesson: k.Lesson, Knobs: k.Knobs}.query()
	c.mu.Lock()
	r, ok := c.runs[key]
	c.mu.Unlock()
	if ok {
		return r, true
	}
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	default:
		return firstRun{}, false
	}
	r, ok = simulate(k, prerenderBudget)
	if !ok {
		return r, false
	}
	if r.t == nil || len(r.t.Events) <= prerenderEvents {
		c.mu.Lock()
		if _, dup := c.runs[key]; !dup {
			if len(c.order) == prerenderTraces {
				delete(c.runs, c.order[0])
				c.order = c.order[1:]
			}
			c.runs[key] = r
			c.order = append(c.order, key)
		}
		c.mu.Unlock()
	}
	return r, true
}

// simulate runs k's lesson to its end, or gives up after budget. An
// error (an unknown lesson, knobs out of range, a failing simulation) is
// a run too: the page shows it, as the app would.
func simulate(k runKey, budget time.Duration) (firstRun, bool) {
	f, err := lessonFile(k)
	if err != nil {
		return firstRun{err: err}, true
	}
	r := firstRun{meta: scenario.Lesson{Name: f.Name, Title: f.Title, Seed: f.Seed, Intro: f.Intro}}
	u := newRun(f)
	for deadline := time.Now().Add(budget); !u.slice(); {
		if time.Now().After(deadline) {
			return r, false
		}
	}
	r.t, r.err = u.result()
	return r, true
}
