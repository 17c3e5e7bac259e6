package main

import (
	"context"
	"errors"
	"time"

	"skbscope/scenario"
)

// frameConn is what a live run needs of the bridge: frames both ways.
type frameConn interface {
	ReadFrame() ([]byte, error)
	WriteFrames(fs ...[]byte) error
}

// liveTick is how often a live run catches up with the wall clock when
// no frame arrives.
const liveTick = time.Millisecond

// runLive runs r paced to the wall clock, its bridge end attached to c:
// virtual time is the time since the call. Frames from c are injected at
// the virtual time they arrive; what the simulated NIC sends is written to
// c. The simulation stays on this goroutine; only the blocking read runs
// on another. drop, if not nil, may discard an outgoing frame (tests use
// it to lose one on purpose). It returns when the run reaches its end, ctx
// is done, or the connection fails.
func runLive(ctx context.Context, r *scenario.Runner, c frameConn, drop func([]byte) bool) error {
	br := r.Bridge()
	if br == nil {
		return errors.New("the scenario has no link to the bridge (a link with \"b\": \"bridge\")")
	}
	in := make(chan []byte, 256)
	readErr := make(chan error, 1)
	go func() {
		for {
			f, err := c.ReadFrame()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case in <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	tick := time.NewTicker(liveTick)
	defer tick.Stop()
	now := func() int64 { return int64(time.Since(start)) }
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return err
		case f := <-in:
			r.AdvanceTo(now())
			if err := br.Inject(f); err != nil {
				continue // a runt from outside: the PHY never saw it
			}
		case <-tick.C:
		}
		done := r.AdvanceTo(now())
		var out [][]byte
		for _, f := range br.Outbox() {
			if drop == nil || !drop(f) {
				out = append(out, f)
			}
		}
		if len(out) > 0 {
			if err := c.WriteFrames(out...); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}
