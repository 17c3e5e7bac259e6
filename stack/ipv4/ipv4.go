// Package ipv4 models net/ipv4: the inet socket family (af_inet.c), UDP
// (udp.c), IP output (ip_output.c) and routing (route.c, fib).
package ipv4

import (
	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/netfilter"
	"skbscope/stack/socket"
)

// Net is one host's IPv4 state: routes, bound UDP sockets and sysctls.
type Net struct {
	K      *kernel.Kernel
	Core   *core.Net
	Routes []Route
	NF     *netfilter.Table // the filter table's chains; nil: no rules
	udp    []*socket.Sock   // the UDP hash table, as a list
	ping   []*socket.Sock   // ping sockets, by echo identifier
	icmp   icmpState

	// frags is the IPv4 fqdir's hash table of reassembly queues, as a
	// list in creation order; fragMem is the memory they hold.
	frags   []*ipq
	fragMem int

	pingRover uint16 // ping_port_rover

	// TCP's hash tables: bound ports, listeners, established (and
	// time-wait) sockets, and each listener's request socks.
	tcpBound, tcpListeners, tcpEstablished []*tcpSock
	tcpReqs                                map[*tcpSock][]*requestSock
	nsk                                    int

	// tsq is the TSQ tasklet (tsq_tasklet, per CPU in the kernel) and
	// tsqList the sockets queued on it (TSQF_QUEUED).
	tsq     kernel.Tasklet
	tsqList []*tcpSock

	cookieSecret uint64 // syncookie_secret; 0 until the first cookie

	DefaultTTL int // net.ipv4.ip_default_ttl
	// Forwarding is net.ipv4.ip_forward: packets for other hosts are
	// routed on (ip_forward) instead of dropped.
	Forwarding                  bool
	LocalPortLow, LocalPortHigh int    // net.ipv4.ip_local_port_range
	DefaultSndBuf               int    // net.core.wmem_default
	DefaultRcvBuf               int    // net.core.rmem_default
	TCPCongestion               string // net.ipv4.tcp_congestion_control: cubic or reno
}

// New sets up IPv4 with Linux's default sysctls.
func New(k *kernel.Kernel, c *core.Net) *Net {
	n := &Net{
		K: k, Core: c,
		DefaultTTL:    64,
		LocalPortLow:  32768,
		LocalPortHigh: 60999,
		DefaultSndBuf: 212992,
		DefaultRcvBuf: 212992,
	}
	n.tcpReqs = map[*tcpSock][]*requestSock{}
	c.DevAddPack(header.EtherTypeIPv4, ipPacketType{n})
	c.DevAddPack(header.EtherTypeARP, arpPacketType{n})
	c.DevAddOffload(header.EtherTypeIPv4, n.inetGSOSegment)
	c.NeighOps = arpOps{n}
	// arp_init registers before ip_rt_init's ip_fib_init (inet_init)
	c.Notifiers = append(c.Notifiers, n.arpNetdevEvent, n.fibNetdevEvent)
	return n
}

// Family is the AF_INET net_proto_family.
func (n *Net) Family() socket.Family { return inetFamily{n} }
