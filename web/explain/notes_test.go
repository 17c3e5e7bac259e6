//go:build !js

package explain

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"skbscope/scenario"
)

// Coverage floors: the share of all lessons' note occurrences, and of
// their distinct notes, that zh-Hans translates. Set just under what the
// rules reach, so that a note reworded in the model without its rule fails.
const (
	minOccurrences = 99.5
	minDistinct    = 99.0
)

// compiled compiles every note rule of lang, failing on the first error.
func compiled(t *testing.T, lang string) []noteRule {
	t.Helper()
	var rs []noteRule
	for _, n := range file(lang).Notes {
		r, err := compileNote(n)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		rs = append(rs, r)
	}
	return rs
}

// neutral reports whether a rule gives its note back as it is: notes
// such as system calls or segments printed as tcpdump does are not
// English, and are translated by being kept.
func neutral(n noteText) bool {
	k := 0
	return hole.ReplaceAllStringFunc(n.En, func(string) string {
		k++
		return "{" + strconv.Itoa(k) + "}"
	}) == n.Tr
}

func TestNotesCompile(t *testing.T) {
	for _, lang := range Langs[1:] {
		if rs := compiled(t, lang); len(rs) < 100 {
			t.Errorf("%s: only %d note rules", lang, len(rs))
		}
		if got := len(file(lang).rules()); got != len(file(lang).Notes) {
			t.Errorf("%s: %d of %d note rules in use", lang, got, len(file(lang).Notes))
		}
	}
	if len(file("en").Notes) > 0 {
		t.Error("en has note rules: English notes are the model's own")
	}
}

// TestNotesPaired: zh-Hant translates the same notes as zh-Hans, in the
// same order (the first match wins), with the same holes given back.
func TestNotesPaired(t *testing.T) {
	hans, hant := file("zh-Hans").Notes, file("zh-Hant").Notes
	if len(hans) != len(hant) {
		t.Fatalf("zh-Hans has %d note rules, zh-Hant %d", len(hans), len(hant))
	}
	refs := func(s string) []string {
		r := ref.FindAllString(s, -1)
		slices.Sort(r)
		return r
	}
	seen := map[string]bool{}
	for i := range hans {
		a, b := hans[i], hant[i]
		if a.En != b.En {
			t.Errorf("note rule %d: zh-Hans %q, zh-Hant %q", i, a.En, b.En)
		}
		if !slices.Equal(refs(a.Tr), refs(b.Tr)) {
			t.Errorf("%q: zh-Hans %q and zh-Hant %q give back different holes", a.En, a.Tr, b.Tr)
		}
		if seen[a.En] {
			t.Errorf("%q translated twice", a.En)
		}
		seen[a.En] = true
	}
}

// TestNotesKeepIdentifiers: a kernel name written in a pattern is in its
// translations too.
func TestNotesKeepIdentifiers(t *testing.T) {
	for _, lang := range Langs[1:] {
		for _, n := range file(lang).Notes {
			for _, id := range ident.FindAllString(hole.ReplaceAllString(n.En, " "), -1) {
				if !strings.Contains(n.Tr, id) {
					t.Errorf("%s: %q lacks %s in %q", lang, n.En, id, n.Tr)
				}
			}
		}
	}
}

func TestNote(t *testing.T) {
	for _, c := range []struct{ lang, note, want string }{
		{"zh-Hans", "12 descriptors free, 3 needed", "12 个描述符空闲，需要 3 个"},
		{"zh-Hant", "12 descriptors free, 3 needed", "12 個描述符空閒，需要 3 個"},
		{"zh-Hans", "IRQ line eth$1", "中断线 eth$1"},
		{"en", "12 descriptors free, 3 needed", "12 descriptors free, 3 needed"},
	} {
		if got, ok := Note(c.lang, c.note); !ok || got != c.want {
			t.Errorf("Note(%q, %q) = %q, %v; want %q", c.lang, c.note, got, ok, c.want)
		}
	}
	for _, c := range []struct{ lang, note string }{
		{"zh-Hans", "no such note, surely"},
		{"zh-Hans", "12 descriptors free, 3 needed, and more"},
		{"zh-Hans", ""},
		{"fr", "12 descriptors free, 3 needed"},
		{"", "12 descriptors free, 3 needed"},
	} {
		if got, ok := Note(c.lang, c.note); ok || got != c.note {
			t.Errorf("Note(%q, %q) = %q, %v; want it untranslated", c.lang, c.note, got, ok)
		}
	}
}

func TestCompileNoteErrors(t *testing.T) {
	for _, n := range []noteText{
		{En: "{x} bytes", Tr: "{1} 字节"},
		{En: "{n} bytes", Tr: "字节"},
		{En: "{n} bytes", Tr: "{2} 字节"},
		{En: "{n} bytes", Tr: "{0} 字节"},
	} {
		if _, err := compileNote(n); err == nil {
			t.Errorf("%q → %q compiled", n.En, n.Tr)
		}
	}
}

// TestNotesCover runs every lesson: each note rule translates some note,
// a translation keeps the note's numbers and leaves no hole behind, and
// the rules cover at least the floors above.
func TestNotesCover(t *testing.T) {
	rules := map[string][]noteRule{}
	used := map[string][]bool{}
	for _, lang := range Langs[1:] {
		rules[lang] = compiled(t, lang)
		used[lang] = make([]bool, len(rules[lang]))
	}
	digits := regexp.MustCompile(`\d+`)
	count := map[string]int{} // occurrences of each distinct note
	for _, l := range scenario.Lessons() {
		tr, err := scenario.Run(l.Name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tr.Events {
			if n := tr.Events[i].Note; n != "" {
				count[n]++
			}
		}
	}
	occ, trOcc, trDistinct := 0, 0, 0
	for note, c := range count {
		occ += c
		ok := true
		for _, lang := range Langs[1:] {
			k, _ := match(rules[lang], note)
			if k < 0 {
				ok = false
				continue
			}
			used[lang][k] = true
			s, _ := Note(lang, note)
			if s == note && !neutral(file(lang).Notes[k]) || hole.MatchString(s) && !strings.Contains(note, "{") {
				t.Errorf("%s: %q became %q", lang, note, s)
			}
			for _, d := range digits.FindAllString(note, -1) {
				if !strings.Contains(s, d) {
					t.Errorf("%s: %q became %q, without %s", lang, note, s, d)
				}
			}
		}
		if ok {
			trOcc += c
			trDistinct++
		}
	}
	for _, lang := range Langs[1:] {
		for k, u := range used[lang] {
			if !u {
				t.Errorf("%s: note rule %q matches no note of any lesson", lang, file(lang).Notes[k].En)
			}
		}
	}
	pOcc := 100 * float64(trOcc) / float64(occ)
	pDistinct := 100 * float64(trDistinct) / float64(len(count))
	if pOcc < minOccurrences || pDistinct < minDistinct {
		t.Errorf("notes translated: %.1f%% of %d occurrences, %.1f%% of %d distinct notes; want at least %.1f%% and %.1f%%",
			pOcc, occ, pDistinct, len(count), minOccurrences, minDistinct)
	}
	t.Logf("notes translated: %.2f%% of %d occurrences, %.2f%% of %d distinct notes", pOcc, occ, pDistinct, len(count))
}

// BenchmarkNote translates each distinct note of a TCP lesson, as the
// function panel does for the step it shows.
func BenchmarkNote(b *testing.B) {
	tr, err := scenario.Run("tcp-send")
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	var notes []string
	for i := range tr.Events {
		if n := tr.Events[i].Note; n != "" && !seen[n] {
			seen[n] = true
			notes = append(notes, n)
		}
	}
	Note("zh-Hant", notes[0]) // compile the rules outside the loop
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Note("zh-Hant", notes[i%len(notes)])
	}
}
