package web

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The embedding API. A page that shows skbscope in an iframe drives it
// with window.postMessage and hears back the same way. Messages are
// objects with type "skbscope":
//
//	to the frame:   {type: "skbscope", cmd: "goto", frame: N}
//	                {type: "skbscope", cmd: "play"} / {cmd: "pause"}
//	                {type: "skbscope", cmd: "lesson", lesson: NAME}
//	from the frame: {type: "skbscope", event: "loaded", lesson: NAME, last: N}
//	                {type: "skbscope", event: "frame", frame: N, last: N}
//
// Any page may embed skbscope, so commands are taken from any origin:
// they only move the view, as the page's own links would. Events carry
// nothing but frame numbers and lesson names.
const msgType = "skbscope"

// listenMessages takes commands from the embedding page, in embed mode
// only (known once the URL is read, after mount).
func (s *Scope) listenMessages(ctx app.Context) {
	s.msgs = app.FuncOf(func(this app.Value, args []app.Value) any {
		d := args[0].Get("data")
		if !s.v.Embed || d.Type() != app.TypeObject || d.Get("type").String() != msgType {
			return nil
		}
		cmd := d.Get("cmd").String()
		var frame int
		if f := d.Get("frame"); f.Type() == app.TypeNumber {
			frame = f.Int()
		}
		lesson := ""
		if x := d.Get("lesson"); x.Type() == app.TypeString {
			lesson = x.String()
		}
		ctx.Dispatch(func(ctx app.Context) { s.command(ctx, cmd, frame, lesson) })
		return nil
	})
	app.Window().Call("addEventListener", "message", s.msgs)
}

// command runs one embedding command.
func (s *Scope) command(ctx app.Context, cmd string, frame int, lesson string) {
	switch cmd {
	case "goto":
		s.jump(ctx, frame)
	case "play":
		s.setPlaying(true)
	case "pause":
		s.setPlaying(false)
		s.followCursor(ctx)
	case "lesson":
		v := s.v
		v.Lesson, v.C = lesson, 0
		s.custom = nil
		navigate(ctx, v)
	}
}

// post tells the embedding page about msg (embed mode only).
func (s *Scope) post(msg map[string]any) {
	if !s.v.Embed || !app.IsClient {
		return
	}
	parent := app.Window().Get("parent")
	if !parent.Truthy() {
		return
	}
	msg["type"] = msgType
	parent.Call("postMessage", msg, "*")
}
