package core

import (
	"encoding/binary"
	"math/bits"
)

// SiphashKey is siphash_key_t (include/linux/siphash.h): two 64-bit
// words, k0 and k1.
type SiphashKey [2]uint64

// Siphash is siphash() of lib/siphash.c: SipHash-2-4 over data with key,
// reading the data as little-endian words as the kernel does
// (https://elixir.bootlin.com/linux/v6.12/source/lib/siphash.c). It is a
// helper with no trace event: the flow dissector's hash calls it inline.
func Siphash(data []byte, key SiphashKey) uint64 {
	v0 := uint64(0x736f6d6570736575) ^ key[0]
	v1 := uint64(0x646f72616e646f6d) ^ key[1]
	v2 := uint64(0x6c7967656e657261) ^ key[0]
	v3 := uint64(0x7465646279746573) ^ key[1]
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	b := uint64(len(data)) << 56
	for len(data) >= 8 {
		m := binary.LittleEndian.Uint64(data)
		v3 ^= m
		round()
		round()
		v0 ^= m
		data = data[8:]
	}
	for i, c := range data {
		b |= uint64(c) << (8 * i)
	}
	v3 ^= b
	round()
	round()
	v0 ^= b
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
