package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// staticCmd is `server static`: the whole site as files, for any static
// web host, under any path prefix.
func staticCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("static", flag.ContinueOnError)
	out := fs.String("o", "dist", "output directory")
	static := fs.String("static", "static", "resource directory holding web/ (with a built app.wasm)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := exportStatic(*static, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "skbscope: static site in %s/\n", *out)
	return nil
}

// exportStatic writes go-app's pages and support files to out, with every
// resource path relative, then copies static/web (app.wasm and its
// compressed copies included) to out/web, and writes the explanations the
// page fetches.
func exportStatic(staticDir, out string) error {
	h, err := newAppHandler(staticDir)
	if err != nil {
		return err
	}
	h.Resources = relative{}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := app.GenerateStaticWebsite(out, h); err != nil {
		return err
	}
	index := filepath.Join(out, "index.html")
	page, err := os.ReadFile(index)
	if err != nil {
		return err
	}
	if err := os.WriteFile(index, mendPage(page), 0o644); err != nil {
		return err
	}
	src := filepath.Join(staticDir, "web")
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".new") {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(out, "web", e.Name())); err != nil {
			return err
		}
	}
	return writeExplain(out)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// relative resolves resource paths relative to the page ("/web/x" to
// "web/x"), so that the exported site works wherever it is put.
type relative struct{}

// Resolve implements app.ResourceResolver.
func (relative) Resolve(loc string) string {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		return loc
	}
	return strings.TrimPrefix(loc, "/")
}
