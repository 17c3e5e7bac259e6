package web

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/web/explain"
)

// explainLesson is a lesson's title and introduction in a language.
func explainLesson(lang, name string) (title, intro string, ok bool) {
	return explain.Lesson(lang, name)
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
	return app.Main().ID("lessons").Class("lessons").Body(
		app.H2().Text(l.t("Lessons")),
		app.Range(seeds).Slice(func(i int) app.UI {
			seed := seeds[i]
			head := seed
			if head == "" {
				head = l.t("Other lessons")
			}
			group := bySeed[seed]
			return app.Section().Class("seed").Body(
				app.H3().Body(app.Text(l.t("Seed")+" "), app.Code().Text(head)),
				app.Ul().Body(app.Range(group).Slice(func(k int) app.UI {
					x := group[k]
					title, intro := lessonText(l, x)
					return app.Li().Body(
						app.A().Class("lesson-link").Attr("data-lesson", x.Name).
							Href(view{Lesson: x.Name, Lang: l, Lecture: v.Lecture}.href()).Text(title),
						app.P().Text(intro),
					)
				})),
			)
		}),
	)
}

// fnPanel is "this function": what the function at the cursor does, in
// plain words, what it decided in this frame, and its source.
func fnPanel(l lang, m *Model, c int) app.UI {
	fn, file := m.fnOf(c)
	e := &m.T.Events[c]
	body := []app.UI{app.H2().Text(l.t("This function"))}
	if fn == "" {
		body = append(body, app.P().Class("muted").Text(describeIn(l, e)))
	} else {
		body = append(body, app.P().Body(app.Code().ID("fn-name").Class("fn").Text(fn+"()")))
		if t, ok := explain.Function(string(l), fn); ok {
			body = append(body, app.P().ID("fn-summary").Text(t.Summary))
		} else if t, ok := explain.Function(string(langEN), fn); ok {
			body = append(body, app.P().ID("fn-summary").Lang("en").Text(t.Summary))
		}
		if e.Note != "" {
			note, ok := noteIn(l, e.Note)
			text := app.Span().ID("fn-note-text").Text(note)
			if !ok {
				text = text.Lang("en") // not translated yet
			}
			body = append(body, app.P().ID("fn-note").Body(app.Strong().Text(l.t("Here")+": "), text))
		}
		if file != "" {
			body = append(body, app.P().Body(app.A().ID("fn-src").Href(SourceURL(file)).Target("_blank").Rel("noopener").
				Text(l.t("Source")+": "+file)))
		}
	}
	return app.Section().ID("fn").Class("panel").Body(body...)
}
