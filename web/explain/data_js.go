//go:build js

package explain

import (
	"errors"
	"fmt"
	"sync"
	"syscall/js"
)

// loaded holds the languages fetched so far.
var (
	mu     sync.Mutex
	loaded = map[string]*langFile{}
)

// file returns the text of lang, or nil until Load has fetched it.
func file(lang string) *langFile {
	mu.Lock()
	defer mu.Unlock()
	return loaded[lang]
}

// maxData bounds what Load takes: the largest language is a few hundred kB.
const maxData = 8 << 20

// Load fetches and parses lang's text from DataPath, relative to the
// page's base so that a static copy of the site works under any path. It
// uses the browser's fetch directly: net/http's client would add
// megabytes to app.wasm. It blocks: call it from a goroutine, not the
// UI's.
func Load(lang string) error {
	if !known(lang) {
		return fmt.Errorf("explain: unknown language %q", lang)
	}
	if file(lang) != nil {
		return nil
	}
	rel := DataPath(lang)
	resp, err := await(js.Global().Call("fetch", rel))
	if err != nil {
		return fmt.Errorf("explain: %s: %v", rel, err)
	}
	if !resp.Get("ok").Bool() {
		return fmt.Errorf("explain: %s: HTTP %d", rel, resp.Get("status").Int())
	}
	buf, err := await(resp.Call("arrayBuffer"))
	if err != nil {
		return fmt.Errorf("explain: %s: %v", rel, err)
	}
	if n := buf.Get("byteLength").Int(); n > maxData {
		return fmt.Errorf("explain: %s: %d bytes, more than %d", rel, n, maxData)
	}
	b := make([]byte, buf.Get("byteLength").Int())
	js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(buf))
	f, err := decode(lang, []part{{rel, b}})
	if err != nil {
		return err
	}
	mu.Lock()
	loaded[lang] = f
	mu.Unlock()
	return nil
}

// await waits for a JavaScript promise to settle.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}

// Loaded reports whether Load has fetched lang's text.
func Loaded(lang string) bool { return file(lang) != nil }
