package web

import (
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// canvasWait is how many frames the animator waits for the canvas to
// appear (the model can arrive before the render that adds it) before it
// takes the page to have no map (an embed without one) and stops asking.
const canvasWait = 60

// Ease durations, in milliseconds.
const (
	stepEase    = 220 // a manual step
	maxPlayEase = 400
)

// handledKeys are the keys Scope.onKey acts on; the listener must know
// them before dispatching, to stop the browser scrolling on them.
var handledKeys = func() map[string]bool {
	h := map[string]bool{"?": true, "Escape": true, "l": true}
	for k := range keyMoves {
		h[k] = true
	}
	return h
}()

// animator paints the stack map from a requestAnimationFrame loop that runs
// only while something moves. It holds the moving state (which cursor the
// cards come from, how far they are) so that go-app never re-renders for
// animation. The rAF callback runs on its own goroutine, hence the mutex.
type animator struct {
	mu        sync.Mutex
	canvas    string
	m         *Model
	fr        Frame
	still     bool    // the reader asked for reduced motion: no easing
	start     float64 // rAF time the current ease began; < 0: the next frame's
	ease      float64 // ms the current ease lasts
	playing   bool
	stepMs    float64
	asked     bool // the next play step was asked for
	drawn     bool // the current ease's final frame is on the canvas
	scheduled bool
	rafID     app.Value
	closed    bool
	noCanvas  int // frames drawn while the page had no canvas, see canvasWait

	buf   cmdBuf
	jsBuf app.Value // a Uint8Array reused for every frame
	jsCap int
	draw  app.Value // window.skbDraw, once static/web/skbscope.js has defined it

	raf, keys app.Func
	onStep    func()
}

func newAnimator(canvas string, onStep func()) *animator {
	a := &animator{canvas: canvas, onStep: onStep, start: -1}
	if mq := app.Window().Call("matchMedia", "(prefers-reduced-motion: reduce)"); mq.Truthy() {
		a.still = mq.Get("matches").Bool()
	}
	a.raf = app.FuncOf(func(this app.Value, args []app.Value) any {
		a.frame(args[0].Float())
		return nil
	})
	return a
}

// listen sends the keys the page handles to onKey on the UI goroutine.
// Keys typed into a form control stay with the control.
func (a *animator) listen(ctx app.Context, onKey func(app.Context, string)) {
	a.keys = app.FuncOf(func(this app.Value, args []app.Value) any {
		ev := args[0]
		key := ev.Get("key").String()
		if !handledKeys[key] || ev.Get("ctrlKey").Bool() || ev.Get("altKey").Bool() || ev.Get("metaKey").Bool() {
			return nil
		}
		switch ev.Get("target").Get("tagName").String() {
		case "INPUT", "SELECT", "TEXTAREA":
			return nil
		}
		ev.Call("preventDefault")
		ctx.Dispatch(func(ctx app.Context) { onKey(ctx, key) })
		return nil
	})
	app.Window().Call("addEventListener", "keydown", a.keys)
}

func (a *animator) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if a.scheduled {
		app.Window().Call("cancelAnimationFrame", a.rafID)
	}
	a.raf.Release()
	if a.keys != nil {
		app.Window().Call("removeEventListener", "keydown", a.keys)
		a.keys.Release()
	}
}

// jump shows cursor c of model m at once, without easing, with
// breakpoints bp.
func (a *animator) jump(m *Model, c int, bp map[int]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m, a.fr, a.ease, a.start, a.drawn = m, Frame{From: c, To: c, P: 1, Breaks: bp}, 0, -1, false
	a.noCanvas = 0
	a.request()
}

// breaks redraws the map with breakpoints bp.
func (a *animator) breaks(bp map[int]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fr.Breaks, a.drawn = bp, false
	a.request()
}

// move eases the cards from where they are to cursor c.
func (a *animator) move(c int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fr = Frame{From: a.fr.To, To: c, Breaks: a.fr.Breaks}
	a.ease = stepEase
	if a.playing {
		a.ease = min(0.6*a.stepMs, maxPlayEase)
	}
	if a.still {
		a.ease = 0
	}
	a.start, a.asked, a.drawn, a.noCanvas = -1, false, false, 0
	a.request()
}

// play starts or stops asking for a step every stepMs.
func (a *animator) play(on bool, stepMs float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.playing, a.stepMs, a.asked = on, stepMs, false
	a.request()
}

// request schedules a frame unless one is pending. Callers hold mu.
func (a *animator) request() {
	if a.scheduled || a.closed {
		return
	}
	a.scheduled = true
	a.rafID = app.Window().Call("requestAnimationFrame", a.raf)
}

func (a *animator) frame(ts float64) {
	a.mu.Lock()
	a.scheduled = false
	if a.closed || a.m == nil {
		a.mu.Unlock()
		return
	}
	if a.start < 0 {
		a.start = ts
	}
	el := ts - a.start
	p := 1.0
	if a.ease > 0 {
		p = min(1, el/a.ease)
	}
	if p < 1 || !a.drawn {
		fr := a.fr
		fr.P = Ease(float32(p))
		a.m.Draw(&a.buf, fr)
		ok := a.flush()
		if !ok && a.draw.Truthy() { // the script is there, the canvas is not (yet)
			a.noCanvas++
			ok = a.noCanvas > canvasWait
		}
		a.drawn = ok && p >= 1
	}
	ask := a.playing && !a.asked && el >= a.stepMs
	a.asked = a.asked || ask
	if p < 1 || !a.drawn || a.playing {
		a.request()
	}
	a.mu.Unlock()
	if ask {
		a.onStep()
	}
}

// flush hands the frame to JavaScript: one copy, one call. It reports
// false while skbscope.js has not loaded yet, or the page has no canvas
// yet (the model can arrive before the render that adds the canvas).
func (a *animator) flush() bool {
	if a.draw == nil || !a.draw.Truthy() {
		a.draw = app.Window().Get("skbDraw")
		if !a.draw.Truthy() {
			return false
		}
	}
	n := len(a.buf.b)
	if n > a.jsCap {
		a.jsCap = max(n, 2*a.jsCap, 1<<14)
		a.jsBuf = app.Window().Get("Uint8Array").New(a.jsCap)
	}
	app.CopyBytesToJS(a.jsBuf, a.buf.b)
	return a.draw.Invoke(a.canvas, a.jsBuf, n).Truthy()
}
