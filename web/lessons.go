package web

import (
	"errors"
	"fmt"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/web/explain"
)

// explainLesson is a lesson's title and introduction in a language.
func explainLesson(lang, name string) (title, intro string, ok bool) {
	return explain.Lesson(lang, name)
}

// errTextPending marks a language's explanations as on their way.
var errTextPending = errors.New("pending")

// loadText fetches the explanations of l (explain.Load: the wasm build
// does not carry them) unless they are here, on their way or failed; the
// page re-renders when the fetch ends. Until then lesson titles are in
// English and "this function" says it is loading.
func (s *Scope) loadText(ctx app.Context, l lang) {
	if !app.IsClient || explain.Loaded(string(l)) || s.text[l] != nil {
		return
	}
	if s.mnt {
		ctx = s.ctx
	}
	if s.text == nil {
		s.text = map[lang]error{}
	}
	s.text[l] = errTextPending
	ctx.Async(func() {
		err := explain.Load(string(l))
		ctx.Dispatch(func(app.Context) { s.text[l] = err })
	})
}

// lessonsPage lists every lesson grouped by the seed post it follows,
// each with its introduction and a link that opens it.
func lessonsPage(v view) app.UI {
	l := v.Lang
	ls := lessons()
	var seeds []string
	bySeed := map[string][]scenario.Lesson{}
	for _, x := range ls {
		if _, ok := bySeed[x.Seed]; !ok {
			seeds = append(seeds, x.Seed)
		}
		bySeed[x.Seed] = append(bySeed[x.Seed], x)
	}
	return box("main", "lessons", "lessons",
		el("h2", "", "", l.t("Lessons")),
		app.Range(seeds).Slice(func(i int) app.UI {
			seed := seeds[i]
			head := seed
			if head == "" {
				head = l.t("Other lessons")
			}
			group := bySeed[seed]
			return box("section", "", "seed",
				box("h3", "", "", app.Text(l.t("Seed")+" "), el("code", "", "", head)),
				box("ul", "", "", app.Range(group).Slice(func(k int) app.UI {
					x := group[k]
					title, intro := lessonText(l, x)
					return box("li", "", "",
						app.A().Class("lesson-link").Attr("data-lesson", x.Name).
							Href(view{Lesson: x.Name, Lang: l, Lecture: v.Lecture}.href()).Text(title),
						el("p", "", "", intro),
					)
				})),
			)
		}),
	)
}

// fnPanel is "this function": what the function at the cursor does, in
// plain words, what it decided in this frame, and its source. textErr is
// how the fetch of l's explanations went, if they are not here.
func fnPanel(l lang, m *Model, c int, textErr error) app.UI {
	fn, file := m.fnOf(c)
	e := &m.T.Events[c]
	body := []app.UI{el("h2", "", "", l.t("This function"))}
	if fn == "" {
		body = append(body, el("p", "", "muted", describeIn(l, e)))
	} else {
		body = append(body, box("p", "", "", el("code", "fn-name", "fn", fn+"()")))
		if t, ok := explain.Function(string(l), fn); ok {
			body = append(body, el("p", "fn-summary", "", t.Summary))
		} else if t, ok := explain.Function(string(langEN), fn); ok {
			body = append(body, app.Elem("p").ID("fn-summary").Lang("en").Text(t.Summary))
		} else if errors.Is(textErr, errTextPending) {
			body = append(body, el("p", "fn-summary", "muted", l.t("Loading the explanation…")))
		} else if textErr != nil {
			body = append(body, el("p", "fn-summary", "muted", fmt.Sprintf(l.t("The explanations could not be loaded (%v)."), textErr)))
		}
		if e.Note != "" {
			note, ok := noteIn(l, e.Note)
			text := app.Elem("span").ID("fn-note-text").Text(note)
			if !ok {
				text = text.Lang("en") // not translated yet
			}
			body = append(body, box("p", "fn-note", "", el("strong", "", "", l.t("Here")+": "), text))
		}
		if file != "" {
			body = append(body, box("p", "", "", app.A().ID("fn-src").Href(SourceURL(file)).Target("_blank").Rel("noopener").
				Text(l.t("Source")+": "+file)))
		}
	}
	return box("section", "fn", "panel", body...)
}
