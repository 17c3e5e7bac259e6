package web

import (
	"testing"

	"skbscope/scenario"
)

// TestNoteTranslations: the notes of a lesson's trace are shown in each
// language through package explain (whose tests check the rules and their
// coverage of every lesson), and English notes as they are.
func TestNoteTranslations(t *testing.T) {
	tr, err := scenario.Run("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	translated, changed, notes := map[lang]int{}, map[lang]int{}, 0
	for i := range tr.Events {
		note := tr.Events[i].Note
		if note == "" {
			continue
		}
		notes++
		for _, l := range langs {
			s, ok := noteIn(l, note)
			if l == langEN && (!ok || s != note) {
				t.Fatalf("English note %q shown as %q, %v", note, s, ok)
			}
			if ok {
				translated[l]++
			}
			if s != note {
				changed[l]++
			}
		}
	}
	for _, l := range langs[1:] {
		// A few notes, such as system calls, are kept as they are.
		if translated[l]*10 < notes*9 || changed[l]*10 < notes*8 {
			t.Errorf("%s: %d of %d notes of udp-sendto translated, %d of them changed", l, translated[l], notes, changed[l])
		}
	}
}
