//go:build js

package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"
	"time"
)

// wsConn is the bridge seen from the browser: a WebSocket whose binary
// messages are Ethernet frames. JavaScript's callbacks must not block,
// so frames wait in a buffered channel; if the simulation falls that far
// behind, the newest are dropped, as a NIC drops on a full ring.
type wsConn struct {
	ws     js.Value
	frames chan []byte
	done   chan struct{} // closed when the socket closes
	err    error         // why, set before done closes
	funcs  []js.Func
	hello  chan error
}

// wsQueue is how many frames may wait between the socket and the run.
const wsQueue = 1024

// dialBridge opens the WebSocket, says hello with the NIC's MAC and MTU
// and waits for the server's hello.
func dialBridge(ctx context.Context, cfg liveConfig) (liveConn, error) {
	u, err := withToken(cfg.URL, cfg.Token)
	if err != nil {
		return nil, err
	}
	c := &wsConn{frames: make(chan []byte, wsQueue), done: make(chan struct{}), hello: make(chan error, 1)}
	c.ws = js.Global().Get("WebSocket").New(u)
	c.ws.Set("binaryType", "arraybuffer")
	on := func(ev string, f func(js.Value)) {
		fn := js.FuncOf(func(this js.Value, args []js.Value) any {
			f(args[0])
			return nil
		})
		c.funcs = append(c.funcs, fn)
		c.ws.Set("on"+ev, fn)
	}
	on("open", func(js.Value) {
		hello, _ := json.Marshal(map[string]any{"type": "hello", "mac": cfg.MAC, "mtu": liveMTU})
		c.ws.Call("send", string(hello))
	})
	on("message", func(ev js.Value) { c.message(ev.Get("data")) })
	on("close", func(ev js.Value) {
		msg := fmt.Sprintf("closed (%d)", ev.Get("code").Int())
		if r := ev.Get("reason").String(); r != "" {
			msg += ": " + r
		}
		c.fail(errors.New(msg))
	})
	select {
	case err = <-c.hello:
	case <-c.done:
		err = c.err
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(10 * time.Second):
		err = errors.New("no hello from the bridge in 10 s")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// message takes one message from the socket: a frame, or control.
func (c *wsConn) message(data js.Value) {
	if data.Type() == js.TypeString {
		var m struct{ Type, Error string }
		if json.Unmarshal([]byte(data.String()), &m) != nil {
			return
		}
		switch m.Type {
		case "hello":
			select {
			case c.hello <- nil:
			default:
			}
		case "error":
			c.fail(fmt.Errorf("bridge: %s", m.Error))
		}
		return
	}
	arr := js.Global().Get("Uint8Array").New(data)
	f := make([]byte, arr.Get("length").Int())
	js.CopyBytesToGo(f, arr)
	select {
	case c.frames <- f:
	default:
	}
}

// fail ends the connection with err, once.
func (c *wsConn) fail(err error) {
	select {
	case <-c.done:
	default:
		c.err = err
		close(c.done)
	}
}

// ReadFrame returns the next frame, or why the socket closed once no
// frame is left.
func (c *wsConn) ReadFrame() ([]byte, error) {
	select {
	case f := <-c.frames:
		return f, nil
	case <-c.done:
		select {
		case f := <-c.frames:
			return f, nil
		default:
			return nil, c.err
		}
	}
}

// WriteFrames sends each frame as one binary message.
func (c *wsConn) WriteFrames(fs ...[]byte) error {
	if c.ws.Get("readyState").Int() != 1 { // OPEN
		return errors.New("the WebSocket is not open")
	}
	for _, f := range fs {
		arr := js.Global().Get("Uint8Array").New(len(f))
		js.CopyBytesToJS(arr, f)
		c.ws.Call("send", arr)
	}
	return nil
}

// Close closes the socket cleanly (1000) and lets its callbacks go.
func (c *wsConn) Close() error {
	for _, ev := range []string{"open", "message", "close"} {
		c.ws.Set("on"+ev, js.Null())
	}
	c.ws.Call("close", 1000)
	for _, f := range c.funcs {
		f.Release()
	}
	c.fail(errors.New("closed"))
	return nil
}
