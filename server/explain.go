package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"skbscope/web/explain"
)

// explainCmd is `server explain`: the explanations the page fetches (the
// wasm build does not embed them), merged per language and compressed
// like app.wasm. `make wasm` runs it.
func explainCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	static := fs.String("static", "static", "resource directory: the files go where the server serves explain.DataPath")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := writeExplain(*static); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "skbscope: explanations in %s\n", filepath.Dir(filepath.Join(*static, filepath.FromSlash(explain.DataPath("en")))))
	return nil
}

// writeExplain writes each language's file under the site's root dir at
// explain.DataPath, with its brotli and gzip copies. An unchanged file is
// left alone, and so are its copies while they are newer (brotli -q 11
// takes a while).
func writeExplain(root string) error {
	for _, lang := range explain.Langs {
		b, err := explain.Data(lang)
		if err != nil {
			return err
		}
		name := filepath.Join(root, filepath.FromSlash(explain.DataPath(lang)))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(name); err != nil || !bytes.Equal(old, b) {
			if err := os.WriteFile(name, b, 0o644); err != nil {
				return err
			}
		}
		if fresh(name, name+".br") && fresh(name, name+".gz") {
			continue
		}
		if out, err := exec.Command("brotli", "-f", "-n", "-q", "11", "-o", name+".br", name).CombinedOutput(); err != nil {
			return fmt.Errorf("brotli %s: %v: %s (apt install brotli)", name, err, out)
		}
		if err := os.WriteFile(name+".gz", gzipped(b, gzip.BestCompression), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fresh reports whether the compressed copy of raw exists and is not older.
func fresh(raw, copy string) bool {
	rst, err := os.Stat(raw)
	if err != nil {
		return false
	}
	cst, err := os.Stat(copy)
	return err == nil && !cst.ModTime().Before(rst.ModTime())
}
