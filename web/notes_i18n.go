package web

import "skbscope/web/explain"

// noteIn is a trace note in language l, and whether it is translated
// (English always is). The translations are data in package explain,
// which keeps the kernel names, numbers and addresses of the note.
func noteIn(l lang, note string) (string, bool) {
	return explain.Note(string(l), note)
}
