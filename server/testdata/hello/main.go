// Command hello is the yardstick of the wasm budgets: a client-only go-app
// hello world, built and served exactly as skbscope's app.wasm is.
package main

import "github.com/maxence-charriere/go-app/v10/pkg/app"

type hello struct{ app.Compo }

func (h *hello) Render() app.UI { return app.H1().ID("hello").Text("Hello, world") }

func main() {
	app.Route("/", func() app.Composer { return &hello{} })
	app.RunWhenOnBrowser()
}
