//go:build !js

package explain

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync"
)

//go:embed text
var files embed.FS

// parsed parses each language's files on first use, one at a time.
var parsed = func() map[string]func() *langFile {
	m := make(map[string]func() *langFile, len(Langs))
	for _, lang := range Langs {
		m[lang] = sync.OnceValue(func() *langFile { return parse(lang) })
	}
	return m
}()

// file returns the parsed text of lang, or nil for an unknown language.
func file(lang string) *langFile {
	if p := parsed[lang]; p != nil {
		return p()
	}
	return nil
}

// parse reads text/LANG.json and text/*/LANG.json. The files are part of
// the binary, so an error, or one text given twice, is a build mistake:
// it panics (the tests catch it first).
func parse(lang string) *langFile {
	topics, err := fs.Glob(files, "text/*/"+lang+".json")
	if err != nil {
		panic(fmt.Sprintf("explain: %v", err))
	}
	var parts []part
	for _, name := range append([]string{"text/" + lang + ".json"}, topics...) {
		b, err := files.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("explain: %v", err))
		}
		parts = append(parts, part{name, b})
	}
	f, err := decode(lang, parts)
	if err != nil {
		panic(err.Error())
	}
	return f
}

// Load makes lang's text available. The native build has it embedded:
// Load only checks the language.
func Load(lang string) error {
	if file(lang) == nil {
		return fmt.Errorf("explain: unknown language %q", lang)
	}
	return nil
}

// Loaded reports whether lang's text is available: always, natively.
func Loaded(lang string) bool { return known(lang) }

// Data is the merged text of lang as the page fetches it from DataPath.
func Data(lang string) ([]byte, error) {
	f := file(lang)
	if f == nil {
		return nil, fmt.Errorf("explain: unknown language %q", lang)
	}
	return json.Marshal(f)
}
