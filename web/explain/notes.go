package explain

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A trace's notes ("what the function decided") are written by the
// simulation, in English. A language file translates them under "notes":
// a list of {"en": pattern, "tr": translation}, tried in order (text/LANG.json
// first, then the topic folders by name), the first pattern that matches
// the whole note wins: a specific pattern goes before a general one. The
// notes live in text/notes/. A pattern is the note as
// written, except for its holes: {n} a number, {w} one word (a device, an
// address, a kernel name: no space) and {*} any text. The translation
// gives each hole back, untranslated, by position: {1}, {2}, … A note no
// pattern matches is shown in English.
type noteText struct {
	En string `json:"en"`
	Tr string `json:"tr"`
}

// holes are the regular expressions of a pattern's holes.
var holes = map[string]string{"{n}": `(\d+(?:\.\d+)?)`, "{w}": `(\S+?)`, "{*}": `(.+?)`}

// hole matches a hole in a pattern, ref one in a translation.
var (
	hole = regexp.MustCompile(`\{[^{}]*\}`)
	ref  = regexp.MustCompile(`\{([0-9]+)\}`)
)

// noteRule is a compiled noteText: tr is a regexp.Expand template. A note
// that lacks the pattern's literal prefix, suffix or longest literal part
// cannot match: checking those first spares most regexp runs, as a note
// is tried against hundreds of rules.
type noteRule struct {
	re                      *regexp.Regexp
	tr                      string
	prefix, suffix, longest string
}

// compileNote checks and compiles one note translation: every hole known,
// every one given back, no reference to a hole the pattern lacks.
func compileNote(n noteText) (noteRule, error) {
	var b strings.Builder
	b.WriteString("^")
	var lits []string
	k, last := 0, 0
	for _, m := range hole.FindAllStringIndex(n.En, -1) {
		re, ok := holes[n.En[m[0]:m[1]]]
		if !ok {
			return noteRule{}, fmt.Errorf("note %q: unknown hole %s", n.En, n.En[m[0]:m[1]])
		}
		lits = append(lits, n.En[last:m[0]])
		b.WriteString(regexp.QuoteMeta(n.En[last:m[0]]) + re)
		k, last = k+1, m[1]
	}
	lits = append(lits, n.En[last:])
	b.WriteString(regexp.QuoteMeta(n.En[last:]) + "$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return noteRule{}, fmt.Errorf("note %q: %v", n.En, err)
	}
	used := make([]bool, k)
	for _, m := range ref.FindAllStringSubmatch(n.Tr, -1) {
		i, _ := strconv.Atoi(m[1])
		if i < 1 || i > k {
			return noteRule{}, fmt.Errorf("note %q: %q refers to {%d}, of %d holes", n.En, n.Tr, i, k)
		}
		used[i-1] = true
	}
	for i, u := range used {
		if !u {
			return noteRule{}, fmt.Errorf("note %q: %q drops {%d}", n.En, n.Tr, i+1)
		}
	}
	tr := ref.ReplaceAllString(strings.ReplaceAll(n.Tr, "$", "$$"), "$${$1}")
	longest := slices.MaxFunc(lits, func(a, b string) int { return len(a) - len(b) })
	return noteRule{re, tr, lits[0], lits[len(lits)-1], longest}, nil
}

// rules are f's notes, compiled on first use; a rule that does not
// compile is left out (the tests name it).
func (f *langFile) rules() []noteRule {
	f.compile.Do(func() {
		for _, n := range f.Notes {
			if r, err := compileNote(n); err == nil {
				f.compiled = append(f.compiled, r)
			}
		}
	})
	return f.compiled
}

// Note returns a trace note in lang, and whether it is translated (an
// English note always is).
func Note(lang, note string) (string, bool) {
	if lang == Langs[0] {
		return note, true
	}
	f := file(lang) // nil for an unknown language, and in the browser until Load
	if f == nil {
		return note, false
	}
	rs := f.rules()
	if k, m := match(rs, note); m != nil {
		return string(rs[k].re.ExpandString(nil, rs[k].tr, note, m)), true
	}
	return note, false
}

// match returns the index of the first rule that matches note, and its
// submatches; nil if none does.
func match(rs []noteRule, note string) (int, []int) {
	for k, r := range rs {
		if !strings.HasPrefix(note, r.prefix) || !strings.HasSuffix(note, r.suffix) || !strings.Contains(note, r.longest) {
			continue
		}
		if m := r.re.FindStringSubmatchIndex(note); m != nil {
			return k, m
		}
	}
	return -1, nil
}
