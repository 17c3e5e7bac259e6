//go:build !js

package web

import (
	"context"
	"errors"
)

// dialBridge: live mode's WebSocket is the browser's (live_js.go); the
// native page only pre-renders, and the headless client (server client)
// is the native way to go live.
func dialBridge(context.Context, liveConfig) (liveConn, error) {
	return nil, errors.New("live mode runs in the browser; natively, use `server client`")
}
