package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"skbscope/scenario"
	"skbscope/stack/trace"
	"skbscope/web/explain"
)

// shots is where the browser tests save their screenshots (git-ignored).
const shots = "../web/testdata/screenshots"

// shoot saves a screenshot of the page as name.png.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.Sleep(250*time.Millisecond), chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// eval runs JavaScript in the page.
func eval(t *testing.T, ctx context.Context, js string, out any) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, out)); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
}

// waitFor polls the JavaScript condition js until it is true.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(js, &ok)); err == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (%s)", what, js)
}

// text is an element's text, "" if it is missing.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	eval(t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel), &s)
	return s
}

func firstEvent(tr *trace.Trace, ok func(e *trace.Event) bool) int {
	for i := range tr.Events {
		if ok(&tr.Events[i]) {
			return i
		}
	}
	return -1
}

// TestBrowserUI drives the lecture-quality features in headless Chromium:
// every lesson stepped by keyboard, the debugger's moves checked against
// the trace, panels at chosen frames, the URL with knobs and language,
// lecture mode, the help, the editor, the lessons page, the embed API and
// the static export under a path prefix. Any console error fails it.
func TestBrowserUI(t *testing.T) {
	ctx, problems, srv, site, open := sitePage(t)
	key := func(t *testing.T, k string, want int) view {
		t.Helper()
		v, err := press(ctx, k, want)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("every lesson by keyboard", func(t *testing.T) {
		for _, l := range scenario.Lessons() {
			tr, err := scenario.Run(l.Name)
			if err != nil {
				t.Fatal(err)
			}
			last := len(tr.Events) - 1
			open(t, "lesson="+l.Name)
			key(t, kb.End, last)
			key(t, kb.ArrowLeft, last-1)
			key(t, kb.Home, 0)
			key(t, kb.ArrowRight, 1)
			key(t, kb.PageDown, 2)
			key(t, kb.PageUp, 1)
			// Step over (n) and into (s) obey the trace: the same context,
			// and over never goes deeper.
			c := 1
			for range 5 {
				e := tr.Events[c]
				v := key(t, "n", -1)
				if n := tr.Events[v.Cursor]; v.Cursor != c && (n.Ctx != e.Ctx || n.Host != e.Host || n.Depth > e.Depth) {
					t.Fatalf("%s: n from %d (%s depth %d) went to %d (%s depth %d)", l.Name, c, e.Ctx, e.Depth, v.Cursor, n.Ctx, n.Depth)
				}
				c = v.Cursor
			}
			// Chapters (]) walk forward to the last one and back ([).
			c = key(t, kb.Home, 0).Cursor
			var stops []int
			for {
				prev := c
				v := key(t, "]", -1)
				if c = v.Cursor; c == prev {
					break
				}
				stops = append(stops, c)
			}
			if len(stops) == 0 {
				t.Errorf("%s: no chapter", l.Name)
			}
			for k := len(stops) - 2; k >= 0; k-- {
				key(t, "[", stops[k])
			}
		}
	})

	tr, err := scenario.Run("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("debugger moves and panels", func(t *testing.T) {
		drv := firstEvent(tr, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "e1000_xmit_frame" })
		open(t, "lesson=udp-sendto&c="+strconv.Itoa(drv))
		if got := text(t, ctx, "#fn-name"); got != "e1000_xmit_frame()" {
			t.Errorf("this function: %q", got)
		}
		// The explanation is fetched after the first frame (explain.Load).
		want, _ := explain.Function("en", "e1000_xmit_frame")
		waitFor(t, ctx, "the explanation", `document.getElementById("fn-summary")?.textContent === `+strconv.Quote(want.Summary))
		if !strings.Contains(text(t, ctx, "#fn"), "netdev.c") {
			t.Errorf("this function panel: %q", text(t, ctx, "#fn"))
		}
		// f finishes the call: its return.
		ret := -1
		for i := drv + 1; i < len(tr.Events); i++ {
			if e := tr.Events[i]; e.Kind == trace.Ret && e.Up == drv {
				ret = i
				break
			}
		}
		key(t, "f", ret)
		// b on the driver, Home, then c runs to the driver again.
		key(t, kb.ArrowLeft, ret-1)
		open(t, "lesson=udp-sendto&c="+strconv.Itoa(drv))
		if err := chromedp.Run(ctx, chromedp.KeyEvent("b")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the breakpoint", `!!document.getElementById("breaks")`)
		key(t, kb.Home, 0)
		key(t, "c", drv)
		// w goes to the next frame on the wire.
		wire := firstEvent(tr, func(e *trace.Event) bool { return e.Kind == trace.Wire })
		key(t, "w", wire)
		shoot(t, ctx, "debugger")
		// The socket panel at the receiver's enqueue.
		enq := firstEvent(tr, func(e *trace.Event) bool {
			return e.Kind == trace.Enqueue && strings.HasSuffix(e.Queue, "sk_receive_queue")
		})
		open(t, "lesson=udp-sendto&c="+strconv.Itoa(enq))
		if row := text(t, ctx, "#socks tr.cur"); !strings.Contains(row, "sk1") || !strings.Contains(row, "sk_receive_queue") {
			t.Errorf("socket panel row %q", row)
		}
		// The log filter keeps only drops... of which this lesson has none,
		// and only host B's events when asked.
		eval(t, ctx, `(() => { const s = document.getElementById("filter-host"); s.value = "B"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, new(bool))
		waitFor(t, ctx, "the filtered log", `document.querySelector("#log h2").textContent.includes(" of ")`)
		var hosts []string
		eval(t, ctx, `[...document.querySelectorAll("#log tbody tr td:nth-child(3)")].map(td => td.textContent)`, &hosts)
		for _, h := range hosts {
			if h != "B" {
				t.Fatalf("host filter B shows a row of host %q", h)
			}
		}
		// ? shows the keys, Escape hides them.
		if err := chromedp.Run(ctx, chromedp.KeyEvent("?")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the help", `!!document.getElementById("help")`)
		shoot(t, ctx, "help")
		if err := chromedp.Run(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the help to close", `!document.getElementById("help")`)
	})

	t.Run("ladder, TCP panel and pcap download", func(t *testing.T) {
		hs, err := scenario.Run("tcp-handshake")
		if err != nil {
			t.Fatal(err)
		}
		var wires []int
		for _, e := range hs.Events {
			if e.Kind == trace.Wire {
				wires = append(wires, e.Seq)
			}
		}
		if len(wires) < 3 {
			t.Fatalf("tcp-handshake has %d wire events", len(wires))
		}
		open(t, "lesson=tcp-handshake&c="+strconv.Itoa(wires[1]))
		if cur := text(t, ctx, "#ladder .ladder-row.cur"); !strings.Contains(cur, "Flags [S.]") {
			t.Errorf("the ladder's current row at the SYN-ACK: %q", cur)
		}
		// A click on the third row goes to the third frame.
		eval(t, ctx, `(() => { const r = document.querySelector('#ladder .ladder-row[data-seq="`+strconv.Itoa(wires[2])+`"]'); r.click(); return !!r })()`, new(bool))
		waitFor(t, ctx, "the clicked frame", `+document.getElementById("cursor").dataset.cursor === `+strconv.Itoa(wires[2]))
		if !strings.Contains(text(t, ctx, "#tcp"), "cwnd") {
			t.Errorf("TCP panel: %q", text(t, ctx, "#tcp"))
		}
		waitFor(t, ctx, "the cwnd plot", `!!document.querySelector("#tcp svg.cwnd-plot polyline.cwnd")`)
		// The pcap button builds a data: URL holding a pcap file (its magic).
		var magic string
		eval(t, ctx, `(() => {
			let href = "";
			const orig = HTMLAnchorElement.prototype.click;
			HTMLAnchorElement.prototype.click = function() { href = this.href; };
			document.getElementById("pcap").click();
			HTMLAnchorElement.prototype.click = orig;
			return atob(href.split(",")[1] || "").slice(0, 4).split("").map(c => c.charCodeAt(0).toString(16)).join(" ");
		})()`, &magic)
		if magic != "4d 3c b2 a1" && magic != "d4 c3 b2 a1" {
			t.Errorf("pcap download starts % x, want a pcap magic", magic)
		}
		shoot(t, ctx, "ladder")
	})

	t.Run("flood lesson with progress and a drop", func(t *testing.T) {
		big, err := scenario.Run("qdisc-overflow")
		if err != nil {
			t.Fatal(err)
		}
		drop := firstEvent(big, func(e *trace.Event) bool { return e.Kind == trace.Drop })
		if err := chromedp.Run(ctx, chromedp.Navigate("about:blank"),
			chromedp.Navigate(srv.URL+"/?lesson=qdisc-overflow&c="+strconv.Itoa(drop))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the progress bar", `!!document.getElementById("progress")`)
		waitFor(t, ctx, "the lesson", `!!document.querySelector("#cursor[data-full=true]")`)
		if got := text(t, ctx, "#cur-drop"); !strings.Contains(got, big.Events[drop].Reason) {
			t.Errorf("drop at %d shows %q, want reason %q", drop, got, big.Events[drop].Reason)
		}
		shoot(t, ctx, "qdisc-overflow-drop")
	})

	t.Run("URL with knobs, language and lecture mode", func(t *testing.T) {
		k := scenario.Knobs{MTU: 1400, RateBps: 1_000_000}
		kt, err := scenario.RunWith("udp-sendto", k)
		if err != nil {
			t.Fatal(err)
		}
		open(t, "lesson=udp-sendto&mtu=1400&rate=1000000&lang=zh-Hans&c=40")
		v, err := readNow(ctx)
		if err != nil || v.Cursor != 40 || v.Last != len(kt.Events)-1 {
			t.Fatalf("view %+v, %v; want cursor 40 of %d", v, err, len(kt.Events)-1)
		}
		var lang string
		eval(t, ctx, `document.getElementById("skbscope").lang`, &lang)
		if lang != "zh-Hans" || !strings.Contains(text(t, ctx, "header"), "课程") {
			t.Errorf("lang %q, header %q", lang, text(t, ctx, "header"))
		}
		// The lesson's title in Chinese comes with the fetched explanations.
		title, _, _ := explain.Lesson("zh-Hans", "udp-sendto")
		waitFor(t, ctx, "the Chinese title", `document.querySelector("header").textContent.includes(`+strconv.Quote(title)+`)`)
		key(t, kb.ArrowRight, 41)
		eval(t, ctx, `(() => { const s = document.getElementById("lang"); s.value = "zh-Hant"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, new(bool))
		waitFor(t, ctx, "traditional Chinese", `document.querySelector("header").textContent.includes("課程")`)
		if err := chromedp.Run(ctx, chromedp.KeyEvent("l")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "lecture mode", `document.getElementById("skbscope").classList.contains("lecture")`)
		shoot(t, ctx, "lecture-zh-Hant")
		var u string
		if err := chromedp.Run(ctx, chromedp.Location(&u)); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"mtu=1400", "rate=1000000", "lang=zh-Hant", "lecture=1", "c=41", "lesson=udp-sendto"} {
			if !strings.Contains(u, want) {
				t.Errorf("URL %s lacks %s", u, want)
			}
		}
		if err := load(ctx, u); err != nil {
			t.Fatal(err)
		}
		if again, err := readNow(ctx); err != nil || again.Cursor != 41 || again.Last != v.Last {
			t.Errorf("reopening %s: %+v, %v", u, again, err)
		}
		waitFor(t, ctx, "lecture mode after reload", `document.getElementById("skbscope").classList.contains("lecture")`)
	})

	t.Run("editor shows errors at their line", func(t *testing.T) {
		open(t, "lesson=udp-sendto")
		eval(t, ctx, `(() => { document.querySelector("#editor summary").click(); return true })()`, new(bool))
		waitFor(t, ctx, "the editor", `!!document.getElementById("scenario-text")`)
		// Break the first NIC's address, then run.
		eval(t, ctx, `(() => {
			const ta = document.getElementById("scenario-text");
			ta.value = ta.value.replace(/"addr": "[^"]*"/, '"addr": "not-an-address"');
			ta.dispatchEvent(new Event("input", {bubbles: true}));
			document.getElementById("editor-run").click();
			return true })()`, new(bool))
		waitFor(t, ctx, "the error", `!!document.querySelector("#editor-errors li")`)
		var line int
		eval(t, ctx, `+document.querySelector("#editor-errors li").dataset.line`, &line)
		var badLine string
		eval(t, ctx, `document.getElementById("scenario-text").value.split("\n")[`+strconv.Itoa(max(line-1, 0))+`]`, &badLine)
		if line == 0 || !strings.Contains(badLine, "not-an-address") {
			t.Errorf("error at line %d (%q): %s", line, badLine, text(t, ctx, "#editor-errors"))
		}
		if n := text(t, ctx, ".gutter .bad"); n != strconv.Itoa(line) {
			t.Errorf("gutter marks line %q, want %d", n, line)
		}
		// Undo the damage, make the datagram bigger, run: a new trace.
		eval(t, ctx, `(() => {
			const ta = document.getElementById("scenario-text");
			ta.value = ta.value.replace('"not-an-address"', '"192.0.2.1/24"');
			ta.dispatchEvent(new Event("input", {bubbles: true}));
			document.getElementById("editor-run").click();
			return true })()`, new(bool))
		waitFor(t, ctx, "the edited scenario", `!document.querySelector("#editor-errors li") && !!document.querySelector("#cursor[data-full=true]")`)
	})

	t.Run("lessons page", func(t *testing.T) {
		open(t, "page=lessons&lang=zh-Hans")
		var n int
		eval(t, ctx, `document.querySelectorAll("#lessons .lesson-link").length`, &n)
		if n != len(scenario.Lessons()) {
			t.Errorf("lessons page lists %d lessons, want %d", n, len(scenario.Lessons()))
		}
		shoot(t, ctx, "lessons-zh-Hans")
		if err := chromedp.Run(ctx, chromedp.Click(`#lessons .lesson-link[data-lesson="arp"]`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the arp lesson", `location.search.includes("lesson=arp") && !!document.querySelector("#cursor[data-full=true]")`)
	})

	t.Run("embed API", func(t *testing.T) {
		if err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/web/embed-example.html")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the loaded event", `document.getElementById("lesson").textContent === "udp-sendto"`)
		if err := chromedp.Run(ctx, chromedp.Click("#to-driver", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "frame 120", `document.getElementById("frame").textContent === "120"`)
		eval(t, ctx, `(() => { document.getElementById("scope").contentWindow.postMessage({type: "skbscope", cmd: "goto", frame: 7}, "*"); return true })()`, new(bool))
		waitFor(t, ctx, "frame 7", `document.getElementById("frame").textContent === "7"`)
		eval(t, ctx, `(() => { document.getElementById("play").click(); return true })()`, new(bool))
		waitFor(t, ctx, "playing", `+document.getElementById("frame").textContent >= 9`)
		eval(t, ctx, `(() => { document.getElementById("pause").click(); return true })()`, new(bool))
		shoot(t, ctx, "embed")
		eval(t, ctx, `(() => { document.getElementById("ping").click(); return true })()`, new(bool))
		waitFor(t, ctx, "the ping lesson", `document.getElementById("lesson").textContent === "ping"`)
	})

	t.Run("static export under a prefix", func(t *testing.T) {
		dist := t.TempDir()
		if err := exportStatic(site, dist); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/docs/skbscope/", http.StripPrefix("/docs/skbscope/", http.FileServer(http.Dir(dist))))
		fsrv := httptest.NewServer(mux)
		defer fsrv.Close()
		if err := load(ctx, fsrv.URL+"/docs/skbscope/?lesson=udp-sendto&c=10"); err != nil {
			t.Fatal(err)
		}
		v, err := readNow(ctx)
		if err != nil || v.Cursor != 10 || v.Last != len(tr.Events)-1 {
			t.Errorf("static site view %+v, %v", v, err)
		}
		key(t, kb.ArrowRight, 11)
		var u string
		if err := chromedp.Run(ctx, chromedp.Location(&u)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u, "/docs/skbscope/?") || !strings.Contains(u, "c=11") {
			t.Errorf("static site URL %s", u)
		}
	})

	for _, p := range problems() {
		t.Errorf("browser reported: %s", p)
	}
}
