package ppp

import "testing"

// FCS16 against RFC 1662's check: the FCS of "123456789" (CRC-16/X-25
// is its complement, 0x906e), and the good-frame residue.
func TestFCS16(t *testing.T) {
	msg := []byte("123456789")
	f := ^FCS16(0xffff, msg)
	if f != 0x906e {
		t.Fatalf("FCS of 123456789 = 0x%04x, want 0x906e", f)
	}
	if r := FCS16(0xffff, append(msg, byte(f), byte(f>>8))); r != 0xf0b8 {
		t.Fatalf("residue 0x%04x, want PPP_GOODFCS 0xf0b8", r)
	}
}
