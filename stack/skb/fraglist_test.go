package skb

import (
	"bytes"
	"testing"
)

func filled(id int, b string) *SKB {
	s := New(id, 256)
	_ = s.Reserve(32)
	p, _ := s.PutBytes(len(b))
	copy(p, b)
	return s
}

// TestFragList: chaining adds to len, data_len and truesize; the bytes
// read across the chain; trimming cuts into it; detaching restores the
// head alone.
func TestFragList(t *testing.T) {
	h, a, b := filled(1, "head-"), filled(2, "frag-a-"), filled(3, "frag-b")
	ts := h.Truesize
	h.AddFrag(a)
	h.AddFrag(b)
	if h.Len() != 18 || h.DataLen() != 13 || h.HeadLen() != 5 || h.Truesize != ts+a.Truesize+b.Truesize {
		t.Fatalf("len %d data_len %d headlen %d truesize %d", h.Len(), h.DataLen(), h.HeadLen(), h.Truesize)
	}
	if got := h.CopyBits(3, 10); !bytes.Equal(got, []byte("d-frag-a-f")) {
		t.Errorf("CopyBits = %q", got)
	}
	if h.CopyBits(10, 9) != nil || h.Pull(6) == nil {
		t.Error("reads past len, or a pull past the head, must fail")
	}
	h.Trim(9)
	if h.Len() != 9 || h.DataLen() != 4 || a.Len() != 4 || b.Len() != 0 || !bytes.Equal(h.CopyBits(0, 9), []byte("head-frag")) {
		t.Errorf("after trim: len %d data_len %d a %d b %d", h.Len(), h.DataLen(), a.Len(), b.Len())
	}
	fl := h.DetachFragList()
	if len(fl) != 2 || h.Len() != 5 || h.DataLen() != 0 || h.Truesize != ts || h.FragList != nil {
		t.Errorf("after detach: %d frags, len %d truesize %d", len(fl), h.Len(), h.Truesize)
	}
	sn := h.Snapshot()
	if sn.FragList != nil || !h.Matches(&sn) {
		t.Error("snapshot of a linear skb has a frag_list or does not match")
	}
	h.AddFrag(a)
	if h.Matches(&sn) || h.Snapshot().FragList[0] != 2 {
		t.Error("the snapshot does not follow the frag_list")
	}
}
