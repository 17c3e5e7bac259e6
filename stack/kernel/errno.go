package kernel

import "strconv"

// Errno values (include/uapi/asm-generic/errno-base.h and errno.h). Kernel
// functions return them negated.
const (
	EPERM           = 1
	E2BIG           = 7
	EBADF           = 9
	EAGAIN          = 11
	ENOMEM          = 12
	EFAULT          = 14
	EINVAL          = 22
	EMSGSIZE        = 90
	EDESTADDRREQ    = 89
	ENOTSOCK        = 88
	EOPNOTSUPP      = 95
	EPROTONOSUPPORT = 93
	EAFNOSUPPORT    = 97
	ENETDOWN        = 100
	ENETUNREACH     = 101
	ENOBUFS         = 105
	ECONNREFUSED    = 111
	EHOSTUNREACH    = 113
	EADDRINUSE      = 98
	EADDRNOTAVAIL   = 99
	ENOPROTOOPT     = 92
	EPIPE           = 32
	ENOTCONN        = 107
	EISCONN         = 106
	EALREADY        = 114
	EINPROGRESS     = 115
	ECONNRESET      = 104
	ETIMEDOUT       = 110
)

var errnoNames = map[int]string{
	EPERM: "EPERM", E2BIG: "E2BIG", EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
	EFAULT: "EFAULT", EINVAL: "EINVAL", EMSGSIZE: "EMSGSIZE",
	EDESTADDRREQ: "EDESTADDRREQ", ENOTSOCK: "ENOTSOCK", EOPNOTSUPP: "EOPNOTSUPP",
	EAFNOSUPPORT: "EAFNOSUPPORT", EPROTONOSUPPORT: "EPROTONOSUPPORT", ENETDOWN: "ENETDOWN", ENETUNREACH: "ENETUNREACH",
	ENOBUFS: "ENOBUFS", EHOSTUNREACH: "EHOSTUNREACH", ECONNREFUSED: "ECONNREFUSED", EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL", ENOPROTOOPT: "ENOPROTOOPT", EPIPE: "EPIPE", ENOTCONN: "ENOTCONN", EISCONN: "EISCONN", EALREADY: "EALREADY", EINPROGRESS: "EINPROGRESS", ECONNRESET: "ECONNRESET", ETIMEDOUT: "ETIMEDOUT",
}

// Err is an int that is either a count (>= 0) or a negated errno: what
// most kernel functions return. It prints as the kernel would name it.
type Err int

func (e Err) String() string {
	if e < 0 {
		if n, ok := errnoNames[int(-e)]; ok {
			return "-" + n
		}
	}
	return strconv.Itoa(int(e))
}
