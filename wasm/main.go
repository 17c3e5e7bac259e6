// Command wasm is the browser half of skbscope: built with GOOS=js
// GOARCH=wasm into static/web/app.wasm. It imports only the UI and the
// simulation; the server's code stays out of it to keep the download small.
package main

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/web"
)

func main() {
	web.Routes()
	app.RunWhenOnBrowser()
}
