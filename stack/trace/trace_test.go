package trace

import (
	"slices"
	"testing"
)

func TestStackIgnoresBadLinks(t *testing.T) {
	tr := &Trace{Events: []Event{
		{Seq: 0, Kind: Call, Up: -1},
		{Seq: 1, Kind: Call, Up: 0},
		{Seq: 2, Kind: State, Up: 2}, // points at itself
		{Seq: 3, Kind: State, Up: 7}, // points forward
		{Seq: 4, Kind: Ret, Up: 1},
		{Seq: 5, Kind: Call, Up: -9},
	}}
	for i, want := range [][]int{{0}, {1, 0}, nil, nil, {1, 0}, {5}} {
		if got := tr.Stack(i); !slices.Equal(got, want) {
			t.Errorf("Stack(%d) = %v, want %v", i, got, want)
		}
	}
	if tr.Stack(-1) != nil || tr.Stack(99) != nil {
		t.Error("out-of-range index")
	}
	tr.Events[0].Skb, tr.Events[0].Snap = []int{1}, []int{3} // a snapshot that does not exist
	if tr.SnapOf(0, 1) != nil {
		t.Error("SnapOf followed a bad index")
	}
}
