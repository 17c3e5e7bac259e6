package web

import (
	"regexp"
	"strings"
	"testing"

	"skbscope/scenario"
)

// TestNoteTranslations: each note rule translates some note of the
// lessons below, and a translation keeps every number of its note and
// leaves no template variable behind.
func TestNoteTranslations(t *testing.T) {
	used := make([]bool, len(noteRules))
	digits := regexp.MustCompile(`\d+`)
	translated, notes := 0, 0
	for _, name := range []string{"udp-sendto", "tcp-handshake", "qdisc-bands", "offloads", "netfilter-drop"} {
		tr, err := scenario.Run(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tr.Events {
			note := tr.Events[i].Note
			if note == "" {
				continue
			}
			notes++
			for k, r := range noteRules {
				if r.re.MatchString(note) {
					used[k] = true
					break
				}
			}
			hans, ok := noteIn(langHans, note)
			hant, _ := noteIn(langHant, note)
			if !ok {
				continue
			}
			translated++
			for _, s := range []string{hans, hant} {
				if strings.Contains(s, "$") || s == note {
					t.Fatalf("%q became %q", note, s)
				}
				for _, d := range digits.FindAllString(note, -1) {
					if !strings.Contains(s, d) {
						t.Fatalf("%q became %q, without %s", note, s, d)
					}
				}
			}
		}
	}
	for k, u := range used {
		if !u {
			t.Errorf("rule %s matches no note", noteRules[k].re)
		}
	}
	if translated*2 < notes {
		t.Errorf("%d of %d notes translated", translated, notes)
	}
	if s, ok := noteIn(langEN, "anything"); !ok || s != "anything" {
		t.Error("English notes are not shown as they are")
	}
	t.Logf("%d of %d notes translated", translated, notes)
}
