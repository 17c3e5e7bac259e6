package ipv4

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/socket"
)

const ipSockglueC = "net/ipv4/ip_sockglue.c"

var fnDoIPSetsockopt = kernel.NewFn("do_ip_setsockopt", ipSockglueC, "ip")

// IP-level socket options (include/uapi/linux/in.h).
const (
	SolIP         = 0
	IPMTUDiscover = 10
)

// Setsockopt is udp_setsockopt() → ip_setsockopt() → do_ip_setsockopt()
// for IP_MTU_DISCOVER: how the socket's datagrams treat the path MTU.
// IP_PMTUDISC_DO sets DF on every datagram and refuses one larger than
// the MTU with -EMSGSIZE instead of fragmenting it.
func (o dgramOps) Setsockopt(k *kernel.Kernel, sock *socket.Socket, level, opt, val int) int {
	e := k.Call(fnDoIPSetsockopt)
	if level != SolIP || opt != IPMTUDiscover {
		return int(kernel.Ret(k, fnDoIPSetsockopt, kernel.Err(-kernel.ENOPROTOOPT)))
	}
	if val < socket.IPPmtudiscDont || val > socket.IPPmtudiscOmit {
		return int(kernel.Ret(k, fnDoIPSetsockopt, kernel.Err(-kernel.EINVAL)))
	}
	sk := sock.Sk
	sk.Pmtudisc, sk.PmtudiscSet = val, true
	names := []string{"IP_PMTUDISC_DONT", "IP_PMTUDISC_WANT", "IP_PMTUDISC_DO", "IP_PMTUDISC_PROBE", "IP_PMTUDISC_INTERFACE", "IP_PMTUDISC_OMIT"}
	e.Note = fmt.Sprintf("IP_MTU_DISCOVER: inet->pmtudisc = %s", names[val])
	if !sk.IgnoreDF() {
		e.Note += ": DF on every datagram, none larger than the MTU"
	}
	return int(kernel.Ret(k, fnDoIPSetsockopt, kernel.Err(0)))
}
