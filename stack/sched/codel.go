package sched

// CoDel's clock and parameters, include/net/codel.h. Time is codel_time_t:
// nanoseconds >> CODEL_SHIFT (units of 1.024 µs).

const (
	codelShift        = 10
	recInvSqrtBits    = 16
	recInvSqrtShift   = 32 - recInvSqrtBits
	codelDefaultTgtMs = 5
	codelDefaultIntMs = 100
)

// codelTime is codel_get_time() for a virtual time in ns.
func codelTime(ns int64) int64 { return ns >> codelShift }

// ms2time is MS2TIME().
func ms2time(ms int64) int64 { return ms * 1_000_000 >> codelShift }

// codelParams is struct codel_params.
type codelParams struct {
	target   int64 // codel time
	interval int64
	mtu      int // psched_mtu: below one MTU of backlog CoDel never drops
}

// codelVars is struct codel_vars: one per fq_codel flow.
type codelVars struct {
	count          uint32
	lastcount      uint32
	dropping       bool
	recInvSqrt     uint16 // 1/sqrt(count), Q0.16
	firstAboveTime int64  // 0: sojourn below target
	dropNext       int64
	ldelay         int64 // sojourn time of the last dequeued packet
}

// codelNewtonStep is codel_Newton_step(): one Newton iteration of
// 1/sqrt(count), in the kernel's fixed point.
func codelNewtonStep(v *codelVars) {
	invsqrt := uint32(v.recInvSqrt) << recInvSqrtShift
	invsqrt2 := uint32((uint64(invsqrt) * uint64(invsqrt)) >> 32)
	val := (uint64(3) << 32) - uint64(v.count)*uint64(invsqrt2)
	val >>= 2
	val = (val * uint64(invsqrt)) >> (32 - 2 + 1)
	v.recInvSqrt = uint16(val >> recInvSqrtShift)
}

// codelControlLaw is codel_control_law(): the next drop comes
// interval/sqrt(count) after t.
func codelControlLaw(t, interval int64, recInvSqrt uint16) int64 {
	return t + int64((uint64(uint32(interval))*uint64(uint32(recInvSqrt)<<recInvSqrtShift))>>32)
}
