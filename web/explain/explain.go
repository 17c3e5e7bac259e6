// Package explain holds the plain-language text the UI shows beside the
// trace: a few sentences on what each traced kernel function does in
// Linux 6.12, and the lesson titles and introductions, in English,
// simplified Chinese and traditional Chinese.
//
// The text is data: one JSON file per language under text/, and one per
// language in each topic folder text/TOPIC/ (so that work on one part of
// the stack does not edit the same file as another). Native builds (the
// server, the tests) embed them; the wasm build does not, to keep app.wasm
// small: it fetches one merged file per language (DataPath, written by
// the server's `explain` command) when the page first needs it (Load).
// To explain a new function, add its name to "functions" in every
// language; the tests fail until all three languages have it. The notes
// of a trace are translated by pattern, under "notes" (see Note).
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
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"skbscope/scenario"
)

// Langs are the supported languages, first is the default.
var Langs = []string{"en", "zh-Hans", "zh-Hant"}

// Text is what the UI shows for one kernel function.
type Text struct{ Summary string }

// langFile is the shape of text/LANG.json, and of the merged file of a
// language that the page fetches (DataPath).
type langFile struct {
	Lang      string                `json:"lang"`
	Functions map[string]string     `json:"functions"`
	Lessons   map[string]lessonText `json:"lessons"`
	Notes     []noteText            `json:"notes"`

	compile  sync.Once // compiled holds Notes as rules, see rules
	compiled []noteRule
}

type lessonText struct {
	Title string `json:"title"`
	Intro string `json:"intro"`
}

// DataPath is where the server and the static site put the merged text
// of lang, relative to the site's root (and so to the page, which the
// static site may put under any prefix): the wasm build fetches it from
// there instead of carrying all three languages in app.wasm.
func DataPath(lang string) string { return "web/explain/" + lang + ".json" }

// known reports whether lang is one of Langs.
func known(lang string) bool { return slices.Contains(Langs, lang) }

// part is one JSON text of a language, named for errors.
type part struct {
	name string
	data []byte
}

// decode merges the parts of lang's text into one, refusing a part of
// another language and any text given twice.
func decode(lang string, parts []part) (*langFile, error) {
	f := &langFile{Lang: lang, Functions: map[string]string{}, Lessons: map[string]lessonText{}}
	for _, p := range parts {
		part := new(langFile)
		if err := json.Unmarshal(p.data, part); err != nil {
			return nil, fmt.Errorf("explain: %s: %v", p.name, err)
		}
		if part.Lang != lang {
			return nil, fmt.Errorf("explain: %s says lang %q", p.name, part.Lang)
		}
		for fn, t := range part.Functions {
			if _, dup := f.Functions[fn]; dup {
				return nil, fmt.Errorf("explain: %s: function %s explained twice", p.name, fn)
			}
			f.Functions[fn] = t
		}
		for l, t := range part.Lessons {
			if _, dup := f.Lessons[l]; dup {
				return nil, fmt.Errorf("explain: %s: lesson %s translated twice", p.name, l)
			}
			f.Lessons[l] = t
		}
		f.Notes = append(f.Notes, part.Notes...)
	}
	return f, nil
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
