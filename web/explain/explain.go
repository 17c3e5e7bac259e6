// Package explain holds the plain-language text the UI shows beside the
// trace: a few sentences on what each traced kernel function does in
// Linux 6.12, and the lesson titles and introductions, in English,
// simplified Chinese and traditional Chinese.
//
// The text is data: one JSON file per language under text/, and one per
// language in each topic folder text/TOPIC/ (so that work on one part of
// the stack does not edit the same file as another), embedded, merged and
// parsed once. To explain a new function, add its name to "functions" in
// every language; the tests fail until all three languages have it. The
// notes of a trace are translated by pattern, under "notes" (see Note).
//
// Conventions: kernel identifiers (functions, struct fields, constants)
// stay untranslated in every language, and so does "socket", as in the
// Chinese seed posts. zh-Hant follows Taiwan usage throughout (記憶體,
// 網路, 封包, 區段, 標頭, 佇列, 計時器, 逾時, 位址, 埠, 協定, 呼叫, 傳回,
// 「」 quotes). It is generated from zh-Hans by tools/s2hant.py (OpenCC
// s2twp plus a table of fixes): edit zh-Hans.json, regenerate, and put
// any correction of the traditional text into that table.
//
// Lesson text in English is the lesson's own (package scenario); the
// files give only the zh-Hans and zh-Hant translations.
package explain

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync"

	"skbscope/scenario"
)

// Langs are the supported languages, first is the default.
var Langs = []string{"en", "zh-Hans", "zh-Hant"}

// Text is what the UI shows for one kernel function.
type Text struct{ Summary string }

//go:embed text
var files embed.FS

// langFile is the shape of text/LANG.json.
type langFile struct {
	Lang      string                `json:"lang"`
	Functions map[string]string     `json:"functions"`
	Lessons   map[string]lessonText `json:"lessons"`
	Notes     []noteText            `json:"notes"`
}

type lessonText struct {
	Title string `json:"title"`
	Intro string `json:"intro"`
}

// parsed parses each language file on first use, one at a time.
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
	f := &langFile{Lang: lang, Functions: map[string]string{}, Lessons: map[string]lessonText{}}
	for _, name := range append([]string{"text/" + lang + ".json"}, topics...) {
		b, err := files.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("explain: %v", err))
		}
		part := new(langFile)
		if err := json.Unmarshal(b, part); err != nil {
			panic(fmt.Sprintf("explain: %s: %v", name, err))
		}
		if part.Lang != lang {
			panic(fmt.Sprintf("explain: %s says lang %q", name, part.Lang))
		}
		for fn, t := range part.Functions {
			if _, dup := f.Functions[fn]; dup {
				panic(fmt.Sprintf("explain: %s: function %s explained twice", name, fn))
			}
			f.Functions[fn] = t
		}
		for l, t := range part.Lessons {
			if _, dup := f.Lessons[l]; dup {
				panic(fmt.Sprintf("explain: %s: lesson %s translated twice", name, l))
			}
			f.Lessons[l] = t
		}
		f.Notes = append(f.Notes, part.Notes...)
	}
	return f
}

// lessons indexes scenario.Lessons() by name, for the English text.
var lessons = sync.OnceValue(func() map[string]scenario.Lesson {
	m := map[string]scenario.Lesson{}
	for _, l := range scenario.Lessons() {
		m[l.Name] = l
	}
	return m
})

// Function returns the text for kernel function fn in lang. ok is false
// for an unknown language or a function with no text in it.
func Function(lang, fn string) (Text, bool) {
	f := file(lang)
	if f == nil {
		return Text{}, false
	}
	s, ok := f.Functions[fn]
	if !ok || s == "" {
		return Text{}, false
	}
	return Text{Summary: s}, true
}

// Lesson returns the title and introduction of the named lesson in lang.
// English comes from the lesson itself. ok is false for an unknown
// language or lesson, or a lesson not yet translated into lang.
func Lesson(lang, name string) (title, intro string, ok bool) {
	l, known := lessons()[name]
	if !known {
		return "", "", false
	}
	if lang == Langs[0] {
		return l.Title, l.Intro, true
	}
	f := file(lang)
	if f == nil {
		return "", "", false
	}
	t, ok := f.Lessons[name]
	if !ok || t.Title == "" || t.Intro == "" {
		return "", "", false
	}
	return t.Title, t.Intro, true
}
