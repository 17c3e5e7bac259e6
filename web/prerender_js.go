//go:build js

package web

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// In the browser nothing is pre-rendered (see prerender.go).
type prerendered struct{}

func (prerendered) root(d app.HTMLElem) app.HTMLElem { return d }

func (prerendered) canvas(c app.HTMLElem) app.HTMLElem { return c }

func (s *Scope) prerender(app.Page) {}
