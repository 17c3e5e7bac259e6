package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"skbscope/scenario"
)

// gatedWasm holds back every app.wasm request until open is called, so a
// test can look at the page as it is before the app runs.
func gatedWasm(h http.Handler) (http.Handler, func()) {
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/app.wasm") {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	}), open
}

// mapPixels is how many of the map canvas's pixels differ from its
// corner's colour, and a checksum of them all: what the canvas shows.
const mapPixels = `(() => {
	const c = document.getElementById("map");
	if (!c || !c.width) return {n: 0, sum: 0, w: 0};
	const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
	let n = 0, sum = 0;
	for (let i = 0; i < d.length; i += 4) {
		if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) n++;
		sum = (sum * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) % 1000000007;
	}
	return {n, sum, w: c.width};
})()`

type pixels struct{ N, Sum, W int }

// TestBrowserPrerender opens a lesson with app.wasm held back: the
// server's first frame is on the screen (status line, narration, the map
// drawn by skbscope.js, go-app's loader a badge), then the app replaces it
// with the same frame. The static export shows its frame at the bare
// address only.
func TestBrowserPrerender(t *testing.T) {
	ctx, problems := browser(t)
	site := siteDir(t)
	h, err := newHandler(site)
	if err != nil {
		t.Fatal(err)
	}
	gated, open := gatedWasm(h)
	srv := httptest.NewServer(gated)
	defer srv.Close()
	defer open()
	tr, err := scenario.Run("ping")
	if err != nil {
		t.Fatal(err)
	}
	last := len(tr.Events) - 1

	if err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/?lesson=ping&c=7&lang=zh-Hans"),
		chromedp.WaitReady("#skbscope[data-shown]", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	var pre struct {
		Cursor, Status, Narration, Lang string
		Fwd                             bool
		LoaderW, LoaderH                float64
	}
	eval(t, ctx, `(() => {
		const c = document.getElementById("cursor"), l = document.getElementById("app-wasm-loader").getBoundingClientRect();
		return {Cursor: c.dataset.cursor, Status: c.textContent, Narration: document.getElementById("narration").textContent,
			Lang: document.getElementById("skbscope").lang, Fwd: document.getElementById("fwd").disabled,
			LoaderW: l.width, LoaderH: l.height};
	})()`, &pre)
	if pre.Cursor != "7" || !strings.Contains(pre.Status, fmt.Sprintf("7 / %d", last)) || pre.Narration == "" || pre.Lang != "zh-Hans" {
		t.Errorf("pre-rendered frame: %+v", pre)
	}
	if pre.Fwd || pre.LoaderH > 120 || pre.LoaderW > 500 {
		t.Errorf("the step button looks disabled (%v) or the loader still covers the page (%.0f×%.0f)", pre.Fwd, pre.LoaderW, pre.LoaderH)
	}
	var before pixels
	eval(t, ctx, mapPixels, &before)
	if before.W == 0 || before.N < 1000 {
		t.Errorf("the pre-rendered map is blank: %+v", before)
	}
	shoot(t, ctx, "prerendered")

	open()
	if err := chromedp.Run(ctx, chromedp.WaitReady("body > #skbscope:not([data-prerender]) #cursor[data-full=true]", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	v, err := readNow(ctx)
	if err != nil || v.Cursor != 7 || v.Last != last {
		t.Errorf("the app's frame %+v (%v), want event 7 of %d", v, err, last)
	}
	var n int
	eval(t, ctx, `document.querySelectorAll("#skbscope").length`, &n)
	if n != 1 {
		t.Errorf("%d page roots after the app mounted", n)
	}
	// The app draws the same frame once its animator has run.
	waitFor(t, ctx, "the app's map", `(() => { const c = document.getElementById("map"); return c && c.width > 0 })()`)
	var after pixels
	eval(t, ctx, mapPixels, &after)
	if after != before {
		t.Errorf("the app's map %+v differs from the pre-rendered one %+v", after, before)
	}

	t.Run("static export", func(t *testing.T) {
		dist := t.TempDir()
		if err := exportStatic(site, dist); err != nil {
			t.Fatal(err)
		}
		gated, open := gatedWasm(http.FileServer(http.Dir(dist)))
		fsrv := httptest.NewServer(gated)
		defer fsrv.Close()
		defer open()
		if err := chromedp.Run(ctx, chromedp.Navigate(fsrv.URL+"/"), chromedp.WaitReady("#skbscope[data-shown] #cursor", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		// Another address gets the same file: its frame is not this view's.
		if err := chromedp.Run(ctx, chromedp.Navigate(fsrv.URL+"/?lesson=ping"),
			chromedp.WaitReady("#app-wasm-loader", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		var shown bool
		eval(t, ctx, `!!document.querySelector("#cursor, [data-prerender], #map")`, &shown)
		if shown {
			t.Error("the static page shows the default lesson's frame at another lesson's address")
		}
		open()
		if err := chromedp.Run(ctx, chromedp.WaitReady("#cursor[data-full=true]", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if v, err := readNow(ctx); err != nil || v.Last != last {
			t.Errorf("static site, ping: %+v %v", v, err)
		}
	})

	for _, p := range problems() {
		t.Errorf("browser reported: %s", p)
	}
}
