package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"skbscope/web/explain"
)

// fakeSite is a resource directory with a small stand-in app.wasm and
// distinguishable compressed variants.
func fakeSite(t *testing.T) string {
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	if err := os.MkdirAll(filepath.Join(web, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"app.wasm":     "\x00asm raw bytes",
		"app.wasm.br":  "brotli",
		"app.wasm.gz":  "gzip",
		"skbscope.css": "body{}",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(web, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWasmEncodings(t *testing.T) {
	dir := fakeSite(t)
	h, err := newHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw := "\x00asm raw bytes"
	for _, c := range []struct{ accept, enc, body string }{
		{"gzip, deflate, br, zstd", "br", "brotli"},
		{"gzip, deflate", "gzip", "gzip"},
		{"br;q=0, gzip;q=0.5", "gzip", "gzip"},
		{"identity", "", raw},
		{"", "", raw},
	} {
		for _, path := range []string{"/web/app.wasm", "/app.wasm"} {
			r := get(t, h, path, "Accept-Encoding", c.accept)
			if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != c.enc || body(t, r) != c.body {
				t.Errorf("%s with %q: %d %q", path, c.accept, r.StatusCode, r.Header.Get("Content-Encoding"))
			}
			if r.Header.Get("Content-Type") != "application/wasm" || r.Header.Get("Vary") != "Accept-Encoding" ||
				r.Header.Get(wasmLengthHeader) != "14" {
				t.Errorf("%s with %q: headers %v", path, c.accept, r.Header)
			}
		}
	}

	// A compressed variant older than app.wasm is stale: never served.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "web", "app.wasm.br"), old, old); err != nil {
		t.Fatal(err)
	}
	if r := get(t, h, "/web/app.wasm", "Accept-Encoding", "br, gzip"); r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("stale brotli: served %q", r.Header.Get("Content-Encoding"))
	}
}

func TestPagesAndNotFound(t *testing.T) {
	h, err := newHandler(fakeSite(t))
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, h, "/?lesson=udp-sendto&c=3")
	page := body(t, r)
	if r.StatusCode != 200 || !strings.Contains(page, `id="skbscope"`) || !strings.Contains(page, "/web/skbscope.js") {
		t.Errorf("page: %d\n%s", r.StatusCode, page)
	}
	if strings.Contains(page, "https://raw.githubusercontent.com") {
		t.Error("the page links icons on the internet")
	}
	if r := get(t, h, "/web/skbscope.css"); r.StatusCode != 200 || body(t, r) != "body{}" {
		t.Errorf("css: %d", r.StatusCode)
	}
	if r := get(t, h, "/?lesson=no-such-lesson"); r.StatusCode != 200 || !strings.Contains(body(t, r), "no-such-lesson") {
		t.Errorf("unknown lesson: %d", r.StatusCode)
	}
	for _, p := range []string{
		"/garbage", "/lesson/x/y", "/%2e%2e/etc/passwd", "/web/../../etc/passwd", "/web/", "/web/sub",
		"/web/missing.js", "/web/app.wasm.br/x", "/web/%00", "/" + strings.Repeat("a/", 500),
	} {
		if r := get(t, h, p); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
}

func TestMissingWasm(t *testing.T) {
	dir := fakeSite(t)
	if err := os.Remove(filepath.Join(dir, "web", "app.wasm")); err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, h, "/web/app.wasm"); r.StatusCode != http.StatusNotFound || !strings.Contains(body(t, r), "make run") {
		t.Errorf("missing wasm: %d", r.StatusCode)
	}
	if _, err := newHandler(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing static directory was accepted")
	}
}

func TestAccepts(t *testing.T) {
	for _, c := range []struct {
		header, coding string
		want           bool
	}{
		{"br", "br", true},
		{"gzip, br;q=0.1", "br", true},
		{"BR", "br", true},
		{"br;q=0", "br", false},
		{"br;q=0.0", "br", false},
		{"brotli", "br", false},
		{"*", "br", false},
		{"", "gzip", false},
	} {
		if got := accepts(c.header, c.coding); got != c.want {
			t.Errorf("accepts(%q, %q) = %v", c.header, c.coding, got)
		}
	}
}

func TestRun(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage") {
		t.Errorf("no command: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Errorf("unknown command: %d", code)
	}
	if code := run([]string{"help"}, &out, &errb); code != 0 {
		t.Errorf("help: %d", code)
	}
	errb.Reset()
	if code := run([]string{"serve", "-static", t.TempDir() + "/none"}, &out, &errb); code != 1 {
		t.Errorf("serve without static: %d %q", code, errb.String())
	}
}

// The page comes with its first frame (web/prerender.go), mended and
// compressed; a query that would need escaping in an attribute is
// refused before go-app renders anything from it.
func TestPrerenderedPage(t *testing.T) {
	h, err := newHandler(fakeSite(t))
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, h, "/?lesson=ping&c=5", "Accept-Encoding", "gzip, br")
	if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("page: %d %v", r.StatusCode, r.Header)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(r.Header.Get("Content-Length")); n == 0 {
		t.Error("no Content-Length")
	}
	page := string(raw)
	for _, want := range []string{`data-prerender="?lesson=ping&c=5"`, `data-cursor="5"`, "data-frame=", `id="narration"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if m := falseBooleans.FindString(page); m != "" || !strings.Contains(page, `id="fwd"`) {
		t.Errorf("page keeps %q (a step button would look disabled)", m)
	}
	if r := get(t, h, "/?lesson=ping"); r.Header.Get("Content-Encoding") != "" || !strings.Contains(body(t, r), "data-frame=") {
		t.Error("a client that does not take gzip got it, or no frame")
	}
	for _, q := range []string{`lesson=%22%3E%3Cscript%3Ealert(1)%3C/script%3E`, `lesson="><b>`, `x%3C=1`, "lang=en%27", "lesson=a%5Cb"} {
		r := get(t, h, "/?"+q)
		if b := body(t, r); r.StatusCode != http.StatusBadRequest || strings.Contains(b, "<script>") || strings.Contains(b, "<b>") {
			t.Errorf("%s: %d\n%s", q, r.StatusCode, b)
		}
	}
}

// The explanations the page fetches are served compressed, and hold what
// the server's own copy does.
func TestExplainFiles(t *testing.T) {
	dir := fakeSite(t)
	if err := writeExplain(dir); err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range explain.Langs {
		want, err := explain.Data(lang)
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + explain.DataPath(lang)
		for _, c := range []struct{ accept, enc string }{{"gzip, deflate, br", "br"}, {"gzip", "gzip"}, {"", ""}} {
			r := get(t, h, p, "Accept-Encoding", c.accept)
			b := body(t, r)
			if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != c.enc || r.Header.Get("Content-Type") != "application/json" ||
				r.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("%s with %q: %d %v", p, c.accept, r.StatusCode, r.Header)
				continue
			}
			if got := decompress(t, c.enc, b); !json.Valid(got) || !bytes.Equal(got, want) {
				t.Errorf("%s with %q: %d bytes, not the %d of explain.Data", p, c.accept, len(got), len(want))
			}
		}
	}
	if r := get(t, h, "/web/explain/fr.json"); r.StatusCode != http.StatusNotFound {
		t.Errorf("fr.json: %d", r.StatusCode)
	}
}

// decompress undoes a Content-Encoding (brotli with the brotli command,
// which the Makefile installs).
func decompress(t *testing.T, enc, b string) []byte {
	t.Helper()
	switch enc {
	case "br":
		cmd := exec.Command("brotli", "-d", "-c")
		cmd.Stdin = strings.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("brotli -d: %v", err)
		}
		return out
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return []byte(b)
}

// The static export carries the explanations and their compressed copies.
func TestStaticExportExplain(t *testing.T) {
	dist := t.TempDir()
	if err := exportStatic(fakeSite(t), dist); err != nil {
		t.Fatal(err)
	}
	for _, lang := range explain.Langs {
		name := filepath.Join(dist, filepath.FromSlash(explain.DataPath(lang)))
		got, err := os.ReadFile(name)
		want, _ := explain.Data(lang)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
		if br, err := os.ReadFile(name + ".br"); err != nil || !bytes.Equal(decompress(t, "br", string(br)), want) {
			t.Errorf("%s.br: %v", name, err)
		}
	}
}
