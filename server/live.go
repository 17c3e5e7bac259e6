package main

import (
	"context"

	"skbscope/scenario"
	"skbscope/scenario/live"
)

// runLive runs r paced to the wall clock with its bridge end attached to
// c (live.Session, the pump the page's live mode uses too). drop, if not
// nil, may discard an outgoing frame (tests use it to lose one on
// purpose). It returns when the run reaches its end, ctx is done, or the
// connection fails (with the connection's error).
func runLive(ctx context.Context, r *scenario.Runner, c live.Conn, drop func([]byte) bool) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := live.New(r)
	s.Drop = drop
	s.Attach(c, cancel)
	err := s.Run(ctx)
	if cause := context.Cause(ctx); err != nil && cause != nil {
		return cause
	}
	return err
}
