package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// bridgeConn is the client end of the bridge, for the headless client,
// tests and benchmarks: frames are []byte, control is decoded here.
// One goroutine may read and another write at the same time.
type bridgeConn struct {
	ws    *websocket.Conn
	batch *batchConn // ws's socket
	MTU   int        // the server's, from its hello
}

// dialBridge connects to a bridge URL (ws://HOST/bridge), says hello with
// hw and waits for the server's hello.
func dialBridge(ctx context.Context, url, token string, hw net.HardwareAddr, mtu int) (*bridgeConn, error) {
	h := http.Header{"Authorization": {"Bearer " + token}}
	var batch *batchConn
	d := *websocket.DefaultDialer
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		batch = &batchConn{Conn: c}
		return batch, nil
	}
	ws, resp, err := d.DialContext(ctx, url, h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("bridge %s: %s", url, resp.Status)
		}
		return nil, err
	}
	c := &bridgeConn{ws: ws, batch: batch}
	hello, _ := json.Marshal(bridgeMsg{Type: "hello", MAC: hw.String(), MTU: mtu})
	if dl, ok := ctx.Deadline(); ok {
		ws.SetReadDeadline(dl)
		defer ws.SetReadDeadline(time.Time{})
	}
	if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
		ws.Close()
		return nil, err
	}
	typ, p, err := ws.ReadMessage()
	var m bridgeMsg
	if err == nil && (typ != websocket.TextMessage || json.Unmarshal(p, &m) != nil) {
		err = errors.New("bridge: expected hello")
	} else if err == nil && m.Type != "hello" {
		err = fmt.Errorf("bridge: %s %s", m.Type, m.Error)
	}
	if err != nil {
		ws.Close()
		return nil, err
	}
	c.MTU = m.MTU
	return c, nil
}

// WriteFrame sends one Ethernet frame (no FCS).
func (c *bridgeConn) WriteFrame(f []byte) error {
	return c.ws.WriteMessage(websocket.BinaryMessage, f)
}

// WriteFrames sends frames, one message each, in one system call.
func (c *bridgeConn) WriteFrames(fs ...[]byte) error {
	c.batch.hold()
	for _, f := range fs {
		if err := c.ws.WriteMessage(websocket.BinaryMessage, f); err != nil {
			c.batch.flush()
			return err
		}
	}
	return c.batch.flush()
}

// Read returns the next message: a frame, or a control message such as
// stats. The server's error message becomes the error.
func (c *bridgeConn) Read() (frame []byte, ctl *bridgeMsg, err error) {
	typ, p, err := c.ws.ReadMessage()
	if err != nil {
		return nil, nil, err
	}
	if typ == websocket.BinaryMessage {
		return p, nil, nil
	}
	var m bridgeMsg
	if err := json.Unmarshal(p, &m); err != nil {
		return nil, nil, fmt.Errorf("bridge: bad control message: %w", err)
	}
	if m.Type == "error" {
		return nil, nil, fmt.Errorf("bridge: %s", m.Error)
	}
	return nil, &m, nil
}

// ReadFrame returns the next frame, skipping control messages.
func (c *bridgeConn) ReadFrame() ([]byte, error) {
	for {
		f, _, err := c.Read()
		if f != nil || err != nil {
			return f, err
		}
	}
}

// RequestStats asks for a stats message now and then every `every`
// (0: once); they arrive through Read.
func (c *bridgeConn) RequestStats(every time.Duration) error {
	p, _ := json.Marshal(bridgeMsg{Type: "stats", EveryMS: int(every / time.Millisecond)})
	return c.ws.WriteMessage(websocket.TextMessage, p)
}

// SetReadDeadline bounds ReadFrame.
func (c *bridgeConn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

// Close sends a close frame and closes the socket without waiting for the
// server's answer.
func (c *bridgeConn) Close() error {
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return c.ws.Close()
}
