package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/web"
)

// wasmLengthHeader carries app.wasm's uncompressed size, so go-app's
// loader can show progress while the compressed bytes arrive.
const wasmLengthHeader = "X-Wasm-Content-Length"

// serveCmd is `server serve`: the web app on a loopback address unless
// told otherwise.
func serveCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	static := fs.String("static", "static", "resource directory: web/ under it is served as /web/")
	bf := addBridgeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := newHandler(*static)
	if err != nil {
		return err
	}
	br, token, generated, err := bf.open()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		log.Printf("warning: listening on %s, beyond this machine", ln.Addr())
	}
	go web.Prewarm()
	fmt.Fprintf(stdout, "skbscope: serving on http://%s/\n", ln.Addr())
	if br != nil {
		bf.announce(stdout, ln.Addr(), token, generated)
	}
	srv := &http.Server{Handler: withBridge(h, br), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// newHandler is the whole site: go-app's page handler, with static/ as the
// resource root and a precompressed app.wasm; the page comes with its
// first frame (see pages).
func newHandler(staticDir string) (http.Handler, error) {
	h, err := newAppHandler(staticDir)
	if err != nil {
		return nil, err
	}
	return pages{h}, nil
}

// newAppHandler is go-app's handler for the site, without pre-rendering.
func newAppHandler(staticDir string) (*app.Handler, error) {
	st, err := os.Stat(staticDir)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("static directory %q not found (run from the repository root)", staticDir)
	}
	res := &resources{dir: staticDir}
	version, err := res.version()
	if err != nil {
		log.Printf("warning: %v: run `make run` to build it", err)
		version = "unbuilt"
	}
	web.Routes()
	return &app.Handler{
		Name:        "skbscope",
		ShortName:   "skbscope",
		Title:       "skbscope: what Linux 6.12 does with a packet",
		Description: "Step through the Linux 6.12 network stack, one sk_buff at a time.",
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-512.png",
			SVG:      "/web/icon.svg",
		},
		BackgroundColor:         "#f8fafc",
		ThemeColor:              "#0f172a",
		LoadingLabel:            "loading skbscope… {progress}%",
		Styles:                  []string{"/web/skbscope.css"},
		Scripts:                 []string{"/web/skbscope.js"},
		Resources:               res,
		Version:                 version,
		WasmContentLengthHeader: wasmLengthHeader,
	}, nil
}

// resources serves dir/web/ as /web/ and resolves go-app's resource paths
// to themselves (go-app's LocalDir prefixes them with the directory).
type resources struct {
	dir string
}

// Resolve implements app.ResourceResolver.
func (r *resources) Resolve(loc string) string {
	switch {
	case loc == "" || loc == "/":
		return "/"
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		return loc
	case strings.HasPrefix(loc, "web/") || loc == "web":
		return "/" + loc
	}
	return loc
}

// version names the build by app.wasm's contents, so a browser updates
// exactly when the app changed.
func (r *resources) version() (string, error) {
	f, err := os.Open(r.wasmPath())
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (r *resources) wasmPath() string { return filepath.Join(r.dir, "web", "app.wasm") }

// ServeHTTP serves files under /web/; go-app hands it those requests.
func (r *resources) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p := path.Clean("/" + req.URL.Path)
	if p == "/web/app.wasm" {
		r.serveWasm(w, req)
		return
	}
	rel, ok := strings.CutPrefix(p, "/web/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	if strings.HasPrefix(rel, "explain/") {
		// Their URLs carry no version: the browser asks each time whether
		// its copy is still the one served (an unchanged file is a 304).
		w.Header().Set("Cache-Control", "no-cache")
	}
	serveFile(w, req, filepath.Join(r.dir, "web", filepath.FromSlash(rel)))
}

// encodings are the precompressed variants of a file, best first: app.wasm
// and the explanations have them beside them (Makefile, `server explain`).
var encodings = []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// serveWasm sends app.wasm with the headers go-app's loader needs.
func (r *resources) serveWasm(w http.ResponseWriter, req *http.Request) {
	raw := r.wasmPath()
	st, err := os.Stat(raw)
	if err != nil {
		http.Error(w, "app.wasm is not built: run `make run`", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set(wasmLengthHeader, strconv.FormatInt(st.Size(), 10))
	serveFile(w, req, raw)
}

// serveFile sends the smallest variant of file raw the client accepts. A
// variant older than raw is stale and never sent.
func serveFile(w http.ResponseWriter, req *http.Request, raw string) {
	st, err := os.Stat(raw)
	if err != nil || st.IsDir() {
		http.NotFound(w, req)
		return
	}
	h := w.Header()
	name := raw
	for _, enc := range encodings {
		if _, err := os.Stat(raw + enc.ext); err != nil {
			continue
		}
		h.Set("Vary", "Accept-Encoding")
		if accepts(req.Header.Get("Accept-Encoding"), enc.name) && fresh(raw, raw+enc.ext) {
			h.Set("Content-Encoding", enc.name)
			name = raw + enc.ext
			break
		}
	}
	f, err := os.Open(name)
	if err != nil {
		http.NotFound(w, req)
		return
	}
	defer f.Close()
	fst, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, req, filepath.Base(raw), fst.ModTime(), f)
}

// accepts reports whether an Accept-Encoding header allows coding: listed
// by name with a q-value above zero.
func accepts(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}
