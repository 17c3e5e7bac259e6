package core

import "testing"

// TestDQLGrowsAndShrinks: starting at zero, the limit grows when the
// hardware was starved (everything queued completed while over the
// limit), and after slack_hold_time of always having more in flight than
// needed it shrinks by the smallest slack seen.
func TestDQLGrowsAndShrinks(t *testing.T) {
	var q DQL
	q.dqlInit(1_000_000_000)
	q.queued(1500)
	if q.Avail() >= 0 {
		t.Fatalf("avail %d with limit 0 and 1500 bytes queued", q.Avail())
	}
	q.completed(1000, 1500)
	if q.Limit != 1500 || q.Avail() < 0 {
		t.Fatalf("after starvation: limit %d, avail %d", q.Limit, q.Avail())
	}
	// Grow it further: queue 3000 against 1500, complete all.
	q.queued(3000)
	q.completed(2000, 3000)
	grown := q.Limit
	if grown <= 1500 {
		t.Fatalf("limit %d did not grow", grown)
	}
	// Now keep a little in flight at every completion for over a second:
	// the limit should come down.
	now := int64(3000)
	q.queued(2000)
	for i := 0; i < 50; i++ {
		q.queued(1000)
		now += 50_000_000
		q.completed(now, 1000)
		if q.Inflight() != 2000 {
			t.Fatalf("in flight %d", q.Inflight())
		}
	}
	if q.Limit >= grown {
		t.Errorf("limit %d after a second of slack, was %d", q.Limit, grown)
	}
}
