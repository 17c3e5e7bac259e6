//go:build linux

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// waitJS polls a JavaScript expression until it is true, or fails with
// what describe (another expression) says about the page then.
func waitJS(t *testing.T, ctx context.Context, what, expr, describe string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			chromedp.Run(ctx, chromedp.Evaluate(describe, &state))
			t.Fatalf("%s: not within %s; the page shows: %s", what, timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveState is the Live panel's text, for failure messages.
const liveState = `(document.getElementById("live") || {}).innerText || "no live panel"`

// opDone is true once the n-th op of kind shows text.
func opDone(kind string, n int, text string) string {
	return fmt.Sprintf(`(() => { const li = document.querySelectorAll('#live-ops li[data-kind=%q]')[%d]; return !!li && li.innerText.includes(%q); })()`, kind, n, text)
}

// TestBrowserLive opens the page in live mode against a real kernel: the
// server bridges a TAP at 192.0.2.1 in a namespace of the test's own,
// the page takes the token from its URL's fragment and connects; from
// the page the test pings the kernel and fetches a page from python3 -m
// http.server there, has the bridge drop its WebSocket and sees
// the page reconnect and ping again, then disconnects cleanly.
func TestBrowserLive(t *testing.T) {
	// The namespace and its TAP are made before Chromium starts, and the
	// TAP is opened once: Chromium's DevTools connection was seen to drop
	// (chromedp's "context canceled") while a namespace was being set up
	// beside it, cause not yet found.
	n := newTestNetns(t)
	body := webServer(t, n)
	site, err := newHandler(siteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBridge(n.openTAP(t), bridgeOptions{Token: testToken, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	mux := http.NewServeMux()
	mux.Handle("/bridge", b)
	mux.Handle("/", site)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, problems := browser(t)

	if err := load(ctx, srv.URL+"/?lesson=udp-sendto#live&token="+testToken); err != nil {
		t.Fatal(err)
	}
	var href string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`location.href`, &href)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(href, testToken) {
		t.Errorf("the token stayed in the address bar: %s", href)
	}
	connected := func(drops int) string {
		return fmt.Sprintf(`(() => { const s = document.getElementById("live-status"); return !!s && s.dataset.state == "connected" && s.dataset.drops == "%d"; })()`, drops)
	}
	waitJS(t, ctx, "connected", connected(0), liveState, 20*time.Second)

	// Ping the kernel; the echo reply shows in the page.
	if err := chromedp.Run(ctx, chromedp.Click("#live-ping", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "echo reply", opDone("ping", 0, "echo reply from 192.0.2.1"), liveState, 15*time.Second)

	// Fetch / from python3 -m http.server: its directory listing names
	// the file webServer wrote.
	if len(body) == 0 {
		t.Fatal("no web server body")
	}
	if err := chromedp.Run(ctx, chromedp.Click("#live-http", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "HTTP answer", opDone("http", 0, "hello.txt"), liveState, 15*time.Second)
	var got string
	if err := chromedp.Run(ctx, chromedp.Text("#live-ops li[data-kind=http] pre", &got, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "HTTP/1.0 200 OK") || !strings.Contains(got, "Directory listing") {
		t.Errorf("the page shows %.300q", got)
	}

	// The view follows the live end: the trace has grown past the
	// handshake and the cursor keeps up with it.
	waitJS(t, ctx, "the view following",
		`(() => { const c = document.getElementById("cursor"); return !!c && +c.dataset.last > 200 && +c.dataset.last - +c.dataset.cursor <= 600; })()`,
		`document.getElementById("cursor").outerHTML`, 20*time.Second)

	// The view's URL, rewritten at every step, never gets the token back.
	if err := chromedp.Run(ctx, chromedp.Evaluate(`location.href`, &href)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(href, testToken) || !strings.Contains(href, "c=") {
		t.Errorf("the address bar while following: %s", href)
	}

	// The bridge drops the page's WebSocket (as on a restart): the page
	// says so and reconnects, and a ping goes through again.
	b.mu.RLock()
	for c := range b.clients {
		c.shutdown(websocket.CloseGoingAway, "the test drops the client")
	}
	b.mu.RUnlock()
	waitJS(t, ctx, "the drop shown",
		`(() => { const s = document.getElementById("live-status"); return !!s && s.dataset.drops == "1"; })()`,
		liveState, 10*time.Second)
	waitJS(t, ctx, "reconnected", connected(1), liveState, 20*time.Second)
	if err := chromedp.Run(ctx, chromedp.Click("#live-ping", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "echo reply after the reconnection", opDone("ping", 1, "echo reply from 192.0.2.1"), liveState, 15*time.Second)

	// A clean close: the form comes back and the bridge has no client.
	if err := chromedp.Run(ctx, chromedp.Click("#live-disconnect", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the form back", `!!document.getElementById("live-connect")`, liveState, 5*time.Second)
	for i := 0; b.counts().Clients != 0; i++ {
		if i == 100 {
			t.Fatalf("the bridge still has %d clients after the page disconnected", b.counts().Clients)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range problems() {
		t.Errorf("browser: %s", p)
	}
}
