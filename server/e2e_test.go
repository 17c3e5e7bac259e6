package main

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

var screenshot = flag.String("screenshot", "../web/testdata/screenshots/udp-sendto.png",
	"where the browser test saves its screenshot (docs/screenshot.png is made with -screenshot ../docs/screenshot.png)")

// chromium finds Debian's Chromium; `make test-deps` installs it.
func chromium(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test skipped: no chromium on PATH (apt-get install -y chromium, or `make test`)")
	return ""
}

// wasmFlags are the flags the Makefile builds app.wasm with (WASM_FLAGS):
// the tests build what it ships, and the budgets' hello world the same way.
func wasmFlags(t testing.TB) []string {
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "WASM_FLAGS :="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatal("the Makefile sets no WASM_FLAGS")
	return nil
}

// siteDir is a resource directory holding a freshly built app.wasm (and
// its gzip variant) and the explanations (writeExplain) beside copies of
// static/web's files, so the test never runs a stale wasm.
func siteDir(t testing.TB) string {
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	if err := os.MkdirAll(web, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("../static/web")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), "app.wasm") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("../static/web", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(web, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wasm := filepath.Join(web, "app.wasm")
	gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	cmd := exec.Command(gobin, slices.Concat([]string{"build"}, wasmFlags(t), []string{"-o", wasm, "../wasm"})...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building app.wasm: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(wasm + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := writeExplain(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sitePage starts headless Chromium (browser) and a test server of a
// freshly built site (siteDir, whose folder it returns); open loads the
// page with a query, failing t if it does not come up.
func sitePage(t *testing.T) (ctx context.Context, problems func() []string, srv *httptest.Server, site string, open func(t *testing.T, q string)) {
	ctx, problems = browser(t)
	site = siteDir(t)
	h, err := newHandler(site)
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	open = func(t *testing.T, q string) {
		t.Helper()
		if err := load(ctx, srv.URL+"/?"+q); err != nil {
			t.Fatal(err)
		}
	}
	return ctx, problems, srv, site, open
}

// browser starts headless Chromium and collects every console error,
// uncaught exception and browser-logged error (such as a failed load).
func browser(t testing.TB) (context.Context, func() []string) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })

	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			p = "exception: " + ev.ExceptionDetails.Error()
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				p = "log: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable()); err != nil {
		t.Fatal(err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// view is what the page shows at its cursor.
type view struct {
	Cursor, Last int
	Fn, What     string
}

const readView = `(() => {
	const c = document.getElementById("cursor");
	const now = document.getElementById("now");
	const t = id => (document.getElementById(id) || {}).textContent || "";
	// The status line follows a key at once, the now line a render later:
	// until it has, the view is the one the now line shows.
	const at = now ? +now.dataset.cursor : c && +c.dataset.cursor;
	return c ? {Cursor: at, Last: +c.dataset.last, Fn: t("cur-fn"), What: t("cur-what")} : null;
})()`

// load opens url afresh and waits until the wasm app has taken over the
// page and shows a lesson, an error or the lessons list (going through
// about:blank, so that reopening the current URL cannot be mistaken for
// having loaded).
func load(ctx context.Context, url string) error {
	return chromedp.Run(ctx,
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(url),
		chromedp.WaitNotPresent("#app-wasm-loader", chromedp.ByQuery),
		chromedp.WaitReady("#cursor[data-full=true], #error, #lessons", chromedp.ByQuery), // the panels follow the first frame
	)
}

func readNow(ctx context.Context) (view, error) {
	var v view
	err := chromedp.Run(ctx, chromedp.Evaluate(readView, &v))
	return v, err
}

// press sends a key and waits until the cursor reaches want; with want
// < 0, until the cursor moves, or 400 ms for a key that may not move it.
func press(ctx context.Context, key string, want int) (view, error) {
	before, err := readNow(ctx)
	if err != nil {
		return before, err
	}
	if err := chromedp.Run(ctx, chromedp.KeyEvent(key)); err != nil {
		return view{}, err
	}
	var v view
	for i := range 200 {
		var err error
		if v, err = readNow(ctx); err != nil {
			return v, err
		}
		if v.Cursor == want || want < 0 && (v.Cursor != before.Cursor || i >= 40) {
			return v, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return v, fmt.Errorf("after %q the cursor is %d, want %d", key, v.Cursor, want)
}

// TestBrowser drives the real page in headless Chromium: keyboard stepping
// down to the e1000e driver, End, a shareable URL that reopens the same
// frame, and no console error on the way.
func TestBrowser(t *testing.T) {
	ctx, problems, srv, _, open := sitePage(t)
	open(t, "lesson=udp-sendto")
	v, err := readNow(ctx)
	if err != nil || v.Cursor != 0 || v.Last < 10 {
		t.Fatalf("first view %+v, %v", v, err)
	}
	reached := false
	for v.Cursor < v.Last {
		if v, err = press(ctx, kb.ArrowRight, v.Cursor+1); err != nil {
			t.Fatal(err)
		}
		if v.Fn == "e1000_xmit_frame" {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("stepping with → never reached e1000_xmit_frame")
	}
	// The status line follows the key at once, the log a render later.
	waitJS(t, ctx, "the highlighted log row at e1000_xmit_frame",
		`(document.getElementById("ev-cur") || {innerText: ""}).innerText.includes("e1000_xmit_frame")`,
		`(document.getElementById("ev-cur") || {innerText: "no highlighted row"}).innerText`, 5*time.Second)
	// Clicking a log row goes to its event, however far the log has paged.
	var first int
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(`+document.querySelector("#log tbody tr").dataset.seq`, &first),
		chromedp.Click("#log tbody tr", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if first == 0 {
		t.Errorf("the log still starts at event 0 at cursor %d", v.Cursor)
	}
	for range 100 {
		if v, err = readNow(ctx); err != nil || v.Cursor == first {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v.Cursor != first {
		t.Errorf("clicking the log row of event %d went to %d", first, v.Cursor)
	}

	var canvasW int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.getElementById("map").width`, &canvasW)); err != nil {
		t.Fatal(err)
	}
	if canvasW <= 300 {
		t.Errorf("the stack map was never drawn: canvas width %d", canvasW)
	}

	// Space plays: the cursor walks on by itself until Space again.
	from := v.Cursor
	if err := chromedp.Run(ctx, chromedp.KeyEvent(" ")); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if v, err = readNow(ctx); err != nil || v.Cursor >= from+2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := chromedp.Run(ctx, chromedp.KeyEvent(" ")); err != nil {
		t.Fatal(err)
	}
	if v.Cursor < from+2 {
		t.Errorf("playing for 6 s moved the cursor from %d to %d", from, v.Cursor)
	}

	if v, err = press(ctx, kb.End, v.Last); err != nil {
		t.Fatal(err)
	}
	if v, err = press(ctx, kb.PageUp, v.Last-1); err != nil {
		t.Fatal(err)
	}
	if v, err = press(ctx, kb.ArrowLeft, v.Last-2); err != nil {
		t.Fatal(err)
	}
	var url string
	if err := chromedp.Run(ctx, chromedp.Location(&url)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "c="+strconv.Itoa(v.Cursor)) || !strings.Contains(url, "lesson=udp-sendto") {
		t.Fatalf("URL %q does not hold lesson and cursor %d", url, v.Cursor)
	}
	if err := load(ctx, url); err != nil {
		t.Fatal(err)
	}
	again, err := readNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != v {
		t.Errorf("reopening %s shows %+v, want %+v", url, again, v)
	}

	// A view worth a picture: the driver queues the frame on its TX ring.
	if err := load(ctx, srv.URL+"/?lesson=udp-sendto&c="+strconv.Itoa(txRingEvent(t))); err != nil {
		t.Fatal(err)
	}
	var png []byte
	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 1560),
		chromedp.Sleep(300*time.Millisecond), // the first animation frame
		chromedp.CaptureScreenshot(&png),
		chromedp.EmulateViewport(1280, 1000),
	); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(*screenshot), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}

	// An unknown lesson is a message, not a crash.
	if err := load(ctx, srv.URL+"/?lesson=no-such-lesson"); err != nil {
		t.Fatal(err)
	}
	var msg string
	if err := chromedp.Run(ctx, chromedp.Text("#error", &msg, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "no-such-lesson") {
		t.Errorf("unknown lesson: error text %q", msg)
	}

	for _, p := range problems() {
		t.Errorf("browser reported: %s", p)
	}
}

// txRingEvent is the event where skb 1 joins the NIC's TX ring.
func txRingEvent(t *testing.T) int {
	tr, err := lessonTrace("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tr.Events {
		if strings.HasSuffix(e.Queue, "tx_ring") {
			return e.Seq
		}
	}
	return len(tr.Events) - 1
}

// frameTimer wraps requestAnimationFrame before the app starts, so that
// every animation frame's main-thread time (Go drawing, the copy, the
// canvas calls) is recorded in window.skbFrames.
const frameTimer = `(() => {
	const raf = window.requestAnimationFrame.bind(window);
	window.skbFrames = [];
	window.requestAnimationFrame = cb => raf(ts => {
		const t0 = performance.now();
		cb(ts);
		window.skbFrames.push(performance.now() - t0);
	});
})()`

// stepOnce presses → in the page and resolves, in milliseconds, once the
// status line shows the next event and the frame after it (with the map)
// has been painted. The page writes the status line at once; the panels
// follow (stepPanels).
const stepOnce = `new Promise(done => {
	const cur = () => +document.getElementById("cursor").dataset.cursor;
	const key = cur() >= +document.getElementById("cursor").dataset.last ? "Home" : "ArrowRight";
	const c0 = cur(), t0 = performance.now();
	window.dispatchEvent(new KeyboardEvent("keydown", {key}));
	const check = () => cur() !== c0 ? requestAnimationFrame(() => done(performance.now() - t0)) : setTimeout(check, 0);
	check();
})`

// stepPanels is stepOnce up to the panels: it resolves once the
// narration, rendered with the panels, tells of the next event and the
// frame after it has been painted.
const stepPanels = `new Promise(done => {
	const c = document.getElementById("cursor");
	const key = +c.dataset.cursor >= +c.dataset.last ? "Home" : "ArrowRight";
	const said = () => document.getElementById("narration").textContent;
	const n0 = said(), t0 = performance.now();
	window.dispatchEvent(new KeyboardEvent("keydown", {key}));
	const check = () => said() !== n0 ? requestAnimationFrame(() => done(performance.now() - t0)) : setTimeout(check, 0);
	check();
})`

// BenchmarkBrowserStep measures, in headless Chromium, the latency of one
// keyboard step (ns/op: key to panels re-rendered and the frame after
// them painted, stepPanels)
// and what the animation frames cost meanwhile.
func BenchmarkBrowserStep(b *testing.B) {
	ctx, problems := browser(b)
	h, err := newHandler(siteDir(b))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(frameTimer).Do(ctx)
		return err
	})); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := load(ctx, srv.URL+"/?lesson=udp-sendto"); err != nil {
		b.Fatal(err)
	}
	loadMs := float64(time.Since(start).Milliseconds())
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	for b.Loop() {
		var ms float64
		if err := chromedp.Run(ctx, chromedp.Evaluate(stepPanels, &ms, await)); err != nil {
			b.Fatal(err)
		}
	}
	var frames []float64
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.skbFrames`, &frames)); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(loadMs, "ms-load")
	var sum, worst float64
	for _, f := range frames {
		sum += f
		worst = max(worst, f)
	}
	if len(frames) > 0 {
		b.ReportMetric(sum/float64(len(frames)), "ms/frame")
		b.ReportMetric(worst, "ms-worst-frame")
	}
	for _, p := range problems() {
		b.Errorf("browser reported: %s", p)
	}
}
