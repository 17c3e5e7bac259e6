// Package live runs a scenario paced to the wall clock with the cable of
// its bridge link plugged into a real network: the frame pump shared by
// the headless client (server) and the page's live mode (web). The
// simulation stays on the goroutine that calls Run; frames from outside
// and work from other goroutines (the page's buttons) reach it through
// channels and enter at the virtual time they arrive, recorded by the
// Runner so that the run can be replayed.
package live

import (
	"context"
	"errors"
	"time"

	"skbscope/scenario"
)

// Conn is what a live run needs of the bridge: Ethernet frames both ways.
type Conn interface {
	ReadFrame() ([]byte, error)
	WriteFrames(fs ...[]byte) error
}

// Session is one live run. Plug a connection in with Attach (again after
// it fails: the simulation goes on meanwhile, and what the simulated NIC
// sends while unplugged is lost, as on a pulled cable).
type Session struct {
	// Tick is how often the run catches up with the wall clock when
	// nothing arrives (default 1 ms).
	Tick time.Duration
	// Drop, if set, may discard an outgoing frame (tests lose one on
	// purpose).
	Drop func([]byte) bool

	r      *scenario.Runner
	in     chan frameIn
	fail   chan plugErr
	attach chan *plug
	do     chan func()
	ended  chan struct{}
}

// plug is one attached connection and whom to tell when it fails.
type plug struct {
	c      Conn
	failed func(error)
}

type frameIn struct {
	p *plug
	f []byte
}

type plugErr struct {
	p   *plug
	err error
}

// ErrEnded is Do's answer once the run is over.
var ErrEnded = errors.New("the live run has ended")

// New prepares a live run of r; Run starts it.
func New(r *scenario.Runner) *Session {
	return &Session{
		Tick: time.Millisecond, r: r,
		in: make(chan frameIn, 256), fail: make(chan plugErr, 1),
		attach: make(chan *plug, 1), do: make(chan func()), ended: make(chan struct{}),
	}
}

// Attach plugs c in place of the current connection. failed is called
// (on the run's goroutine) with the error that ends c's part: a read or
// write error. The caller closes c.
func (s *Session) Attach(c Conn, failed func(error)) {
	select {
	case s.attach <- &plug{c, failed}:
	case <-s.ended:
	}
}

// Do runs f on the run's goroutine once the simulation has caught up with
// the wall clock, and waits for it: the way to add a program at now or
// to take a snapshot of the trace.
func (s *Session) Do(f func(r *scenario.Runner)) error {
	done := make(chan struct{})
	select {
	case s.do <- func() { f(s.r); close(done) }:
		<-done
		return nil
	case <-s.ended:
		return ErrEnded
	}
}

// Run runs the scenario paced to the wall clock (virtual time is the time
// since the call) until it reaches its end or ctx is done. Frames from the
// attached connection are injected when they arrive; what the simulated
// NIC sends is written to it.
func (s *Session) Run(ctx context.Context) error {
	defer close(s.ended)
	if s.r.Bridge() == nil {
		return errors.New("the scenario has no link to the bridge (a link with \"b\": \"bridge\")")
	}
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	tick := time.NewTicker(s.Tick)
	defer tick.Stop()
	var cur *plug
	unplug := func(err error) {
		p := cur
		cur = nil
		p.failed(err)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-s.attach:
			cur = p
			go s.read(p)
		case f := <-s.in:
			if f.p == cur {
				s.r.AdvanceTo(now())
				s.r.Inject(f.f) // a runt is refused: the PHY never saw it
			}
		case e := <-s.fail:
			if e.p == cur {
				unplug(e.err)
			}
		case f := <-s.do:
			s.r.AdvanceTo(now())
			f()
		case <-tick.C:
		}
		done := s.r.AdvanceTo(now())
		out := s.r.Bridge().Outbox()
		if s.Drop != nil {
			kept := out[:0]
			for _, f := range out {
				if !s.Drop(f) {
					kept = append(kept, f)
				}
			}
			out = kept
		}
		if cur != nil && len(out) > 0 {
			if err := cur.c.WriteFrames(out...); err != nil {
				unplug(err)
			}
		}
		if done {
			return nil
		}
	}
}

// read feeds p's frames to the run until p fails or the run ends.
func (s *Session) read(p *plug) {
	for {
		f, err := p.c.ReadFrame()
		if err != nil {
			select {
			case s.fail <- plugErr{p, err}:
			case <-s.ended:
			}
			return
		}
		select {
		case s.in <- frameIn{p, f}:
		case <-s.ended:
			return
		}
	}
}
