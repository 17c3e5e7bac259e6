package ipv4

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/socket"
)

const ipSockglueC = "net/ipv4/ip_sockglue.c"

var (
	fnDoIPSetsockopt       = kernel.NewFn("do_ip_setsockopt", ipSockglueC, "ip")
	fnIPSetsockopt         = kernel.NewFn("ip_setsockopt", ipSockglueC, "ip")
	fnSockCommonSetsockopt = kernel.NewFn("sock_common_setsockopt", "net/core/sock.c", "socket")
	fnUDPSetsockopt        = kernel.NewFn("udp_setsockopt", "net/ipv4/udp.c", "udp")
)

// IP-level socket options (include/uapi/linux/in.h).
const (
	SolIP         = 0
	IPMTUDiscover = 10
)

// Setsockopt is sock_common_setsockopt() → udp_setsockopt(): a UDP
// socket has no option of its own in the model, so every level goes to
// ip_setsockopt.
func (o dgramOps) Setsockopt(k *kernel.Kernel, sock *socket.Socket, level, opt, val int) int {
	k.Call(fnSockCommonSetsockopt)
	k.Call(fnUDPSetsockopt)
	r := ipSetsockopt(k, sock.Sk, level, opt, val)
	kernel.Ret(k, fnUDPSetsockopt, kernel.Err(r))
	return int(kernel.Ret(k, fnSockCommonSetsockopt, kernel.Err(r)))
}

// ipSetsockopt is ip_setsockopt() → do_ip_setsockopt() for
// IP_MTU_DISCOVER: how the socket's datagrams treat the path MTU.
// IP_PMTUDISC_DO sets DF on every datagram and refuses one larger than
// the MTU with -EMSGSIZE instead of fragmenting it.
func ipSetsockopt(k *kernel.Kernel, sk *socket.Sock, level, opt, val int) int {
	k.Call(fnIPSetsockopt)
	e := k.Call(fnDoIPSetsockopt)
	r := func(r int) int {
		kernel.Ret(k, fnDoIPSetsockopt, kernel.Err(r))
		return int(kernel.Ret(k, fnIPSetsockopt, kernel.Err(r)))
	}
	if level != SolIP || opt != IPMTUDiscover {
		return r(-kernel.ENOPROTOOPT)
	}
	if val < socket.IPPmtudiscDont || val > socket.IPPmtudiscOmit {
		return r(-kernel.EINVAL)
	}
	sk.Pmtudisc, sk.PmtudiscSet = val, true
	names := []string{"IP_PMTUDISC_DONT", "IP_PMTUDISC_WANT", "IP_PMTUDISC_DO", "IP_PMTUDISC_PROBE", "IP_PMTUDISC_INTERFACE", "IP_PMTUDISC_OMIT"}
	e.Note = fmt.Sprintf("IP_MTU_DISCOVER: inet->pmtudisc = %s", names[val])
	if !sk.IgnoreDF() {
		e.Note += ": DF on every datagram, none larger than the MTU"
	}
	return r(0)
}
