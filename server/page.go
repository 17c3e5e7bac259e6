package main

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// pages serves the page go-app renders on the server (with the view's
// first frame in it, see web/prerender.go) mended and compressed: the
// page grows with the frame, and go-app sends it as it is.
type pages struct{ next http.Handler }

// ServeHTTP implements http.Handler.
func (p pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		p.next.ServeHTTP(w, r)
		return
	}
	if unsafeQuery(r.URL.RawQuery) {
		http.Error(w, "skbscope: this address holds characters (quotes, <, >, \\ or `) that no view of the page uses", http.StatusBadRequest)
		return
	}
	b := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	p.next.ServeHTTP(b, r)
	page := b.body.Bytes()
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	if b.status == http.StatusOK {
		page = mendPage(page)
		h.Add("Vary", "Accept-Encoding")
		if accepts(r.Header.Get("Accept-Encoding"), "gzip") {
			page = gzipped(page, gzip.BestSpeed)
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(b.status)
	if r.Method == http.MethodGet {
		w.Write(page)
	}
}

// unsafeQuery reports whether a query holds, raw or decoded, a character
// that would need escaping in an HTML attribute. The page is rendered on
// the server from the query, and go-app's encoder quotes attribute values
// without escaping them (an unknown lesson's name becomes an option's
// value), so such a query must not reach it; no lesson, knob or language
// needs one.
func unsafeQuery(raw string) bool {
	const unsafe = "\"<>'`\\"
	if strings.ContainsAny(raw, unsafe) {
		return true
	}
	q, _ := url.ParseQuery(raw)
	for k, vs := range q {
		if strings.ContainsAny(k, unsafe) {
			return true
		}
		for _, v := range vs {
			if strings.ContainsAny(v, unsafe) {
				return true
			}
		}
	}
	return false
}

// gzipped is b compressed at level, which must be a valid gzip level.
func gzipped(b []byte, level int) []byte {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, level)
	zw.Write(b) // a bytes.Buffer takes everything
	zw.Close()
	return z.Bytes()
}

// falseBooleans matches the boolean attributes go-app's server-side
// encoder writes as ="false" (a button the app enables); in HTML their
// presence alone means true.
var falseBooleans = regexp.MustCompile(` (disabled|selected|checked|open|hidden|readonly|multiple|required|autofocus)="false"`)

// mendPage drops the boolean attributes that say false.
func mendPage(page []byte) []byte { return falseBooleans.ReplaceAll(page, nil) }

// bufferedWriter holds a response so that it can be changed before it is
// sent.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
