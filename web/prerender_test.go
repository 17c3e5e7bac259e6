//go:build !js

package web

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
)

// prerendered renders the page for rawQuery as the server does.
func prerenderedScope(t *testing.T, rawQuery string) (*Scope, string) {
	t.Helper()
	q, _ := url.ParseQuery(rawQuery) // as the page reads it: what parses
	s := &Scope{v: openView(q)}
	p := &testPage{u: &url.URL{Path: "/", RawQuery: rawQuery}}
	s.prerender(p)
	if len(p.preloads) != 1 || !strings.HasPrefix(p.preloads[0].Href, "web/explain/"+string(s.v.Lang)+".json ") {
		t.Errorf("preloads %+v, want the view's language file", p.preloads)
	}
	return s, app.HTMLString(s.Render())
}

// testPage is the request's page as go-app's server hands it to OnNav,
// with what prerender uses of it.
type testPage struct {
	app.Page
	u        *url.URL
	preloads []app.Preload
}

func (p *testPage) URL() *url.URL                { return p.u }
func (p *testPage) SetPreloads(v ...app.Preload) { p.preloads = v }

// The server's first frame is the frame the app shows at the URL's
// cursor: the same trace, status line and map command buffer.
func TestPrerenderFirstFrame(t *testing.T) {
	tr, err := scenario.Run("ping")
	if err != nil {
		t.Fatal(err)
	}
	s, page := prerenderedScope(t, "lesson=ping&c=5&lang=zh-Hans")
	if s.model == nil || s.cursor != 5 || len(s.model.T.Events) != len(tr.Events) {
		t.Fatalf("pre-rendered model %v at %d", s.model != nil, s.cursor)
	}
	for _, want := range []string{`data-cursor="5"`, `data-prerender="?lesson=ping&c=5&lang=zh-Hans"`, `id="narration"`, `lang="zh-Hans"`, "data-frame="} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="log"`) {
		t.Error("the panels are pre-rendered: the first frame leaves them to the app")
	}
	var d cmdBuf
	NewModel(tr).Draw(&d, Frame{From: 5, To: 5, P: 1})
	got, err := base64.StdEncoding.DecodeString(s.pre.frame)
	if err != nil || !bytes.Equal(got, d.b) {
		t.Errorf("map frame: %d bytes (%v), the app draws %d", len(got), err, len(d.b))
	}
	checkBuf(t, got)

	// The layers-only zoom draws its own map.
	z, _ := prerenderedScope(t, "lesson=ping&c=5&zoom=layers")
	if z.pre.frame == "" || z.pre.frame == s.pre.frame {
		t.Error("the zoomed-out map is not the one pre-rendered")
	}
}

// What the app would show as a message, the server shows too; a view it
// cannot simulate in time is left to the browser, marked as pre-rendered
// so that skbscope.js shows the header meanwhile.
func TestPrerenderMessagesAndBudget(t *testing.T) {
	for q, want := range map[string]string{
		"lesson=no-such-lesson": "no-such-lesson",
		"lesson=ping&mtu=1":     `id="error"`,
		"page=lessons":          `id="lessons"`,
		"lesson=%zz&c=-4":       `data-cursor="0"`, // garbage falls back to the first lesson
	} {
		q, want := q, want
		t.Run(q, func(t *testing.T) {
			s, page := prerenderedScope(t, q)
			if !s.pre.done || !strings.Contains(page, want) {
				t.Errorf("page for %q lacks %s", q, want)
			}
		})
	}
	if r, ok := simulate(runKey{Lesson: "tcp-cwnd"}, time.Millisecond); ok || r.t != nil {
		t.Error("a lesson that takes seconds was simulated within a millisecond")
	}
}

// Requests share the kept traces; each builds its own Model, so pages
// render concurrently (run with -race).
func TestPrerenderConcurrent(t *testing.T) {
	_, want := prerenderedScope(t, "lesson=udp-sendto&c=40")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, page := prerenderedScope(t, "lesson=udp-sendto&c=40"); len(page) != len(want) {
				t.Errorf("concurrent page: %d bytes, want %d", len(page), len(want))
			}
		}()
	}
	wg.Wait()
}

// Any address renders a page: the view it names (or the first lesson),
// a message for what cannot run, never a panic; and the address the page
// writes back for a view names the same view.
func FuzzPage(f *testing.F) {
	for _, q := range []string{"", "lesson=ping&c=5&lang=zh-Hant", "page=lessons", "lesson=%zz&c=-4",
		"lesson=udp-sendto&mtu=68&loss=12.5&rate=1000&qdisc=tbf&nic=dm9000", "embed=1&panels=map,skb&zoom=layers",
		"ethtool=-K+eth0+tso+off&nft=add+rule+inet+filter+output+drop&link=down+eth0+at+1ms", "c=99999999999999999999&mtu=-1&loss=NaN"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		v := openView(q)
		again, _ := url.ParseQuery(v.query())
		if w := openView(again); w.query() != v.query() {
			t.Errorf("%q: the view's own address %q reads back as %q", raw, v.query(), w.query())
		}
		if v.Page == "" {
			lessonFile(runKey{v.Lesson, v.Knobs}) // an error is fine, a panic is not
		}
		s := &Scope{v: v}
		if page := app.HTMLString(s.Render()); !strings.Contains(page, `id="skbscope"`) {
			t.Errorf("%q: no page", raw)
		}
	})
}
