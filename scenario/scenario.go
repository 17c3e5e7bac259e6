// Package scenario reads lesson files (versioned JSON) and turns them into
// a simulation: hosts with their NICs, addresses, routes and neighbours,
// the links between them, and the programs their tasks run.
package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the scenario format this code reads.
const Version = 1

// File is a scenario file.
type File struct {
	Version int      `json:"version"`
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Seed    string   `json:"seed"` // the seed post the lesson follows
	Intro   string   `json:"intro"`
	RNGSeed uint64   `json:"rng_seed"`
	UntilNs int64    `json:"until_ns"` // how long to simulate; 0 = until quiet
	Hosts   []Host   `json:"hosts"`
	Links   []Link   `json:"links"`
	Inject  []Inject `json:"inject"`
}

// Inject puts a frame on the wire towards a NIC at a given time: traffic
// from outside the scenario (a test, a fuzzer, a bridged real network).
// To "bridge" is a frame a live run took from the real network: it
// enters through the bridge end of the cable once everything due by
// at_ns has run, as it did live (Runner.Replay).
type Inject struct {
	AtNs  int64  `json:"at_ns"`
	To    string `json:"to"`    // "HOST.NIC", or "bridge"
	Frame string `json:"frame"` // hex, without FCS
}

// Host is one machine.
type Host struct {
	Name       string      `json:"name"`
	NICs       []NIC       `json:"nics"`
	Neighbours []Neighbour `json:"neighbours"`
	Taps       []Tap       `json:"taps"`
	Programs   []Program   `json:"programs"`
	// Sysctls sets net.core.{wmem,rmem}_{default,max} (bytes).
	Sysctls map[string]int `json:"sysctls"`
	// Netfilter rules, in order per chain (nft add rule inet filter CHAIN …).
	Netfilter []NFRule `json:"netfilter"`
	// TCPCongestion is net.ipv4.tcp_congestion_control: cubic (default) or reno.
	TCPCongestion string `json:"tcp_congestion_control"`
	// BugOn injects BUG() into a kernel function (fault injection).
	BugOn *BugOn `json:"bug_on"`
	// Routes are `ip route add DST via GW`: the gateway must be on one of
	// the host's NICs' prefixes, whose device the route then uses.
	Routes []RouteSpec `json:"routes,omitempty"`
}

// RouteSpec is a route through a gateway.
type RouteSpec struct {
	Dst string `json:"dst"` // a prefix, e.g. 198.51.100.0/24
	Via string `json:"via"` // the gateway's address
}

// BugOn makes the host execute BUG() on entering function Fn, as a
// vendor patch's assertion did in seed 000. The host oopses and, as with
// kernel.panic_on_oops=1, panics: it runs nothing more.
type BugOn struct {
	Fn   string `json:"fn"`   // one of kernel.BugSites
	Note string `json:"note"` // why, in the oops event's note
}

// NFRule is one nftables filter rule.
type NFRule struct {
	Chain   string `json:"chain"` // prerouting, input, forward, output, postrouting
	Proto   string `json:"proto"` // tcp, udp, icmp, or "" for any
	Saddr   string `json:"saddr"` // prefix, e.g. 192.0.2.0/24
	Daddr   string `json:"daddr"`
	Sport   int    `json:"sport"`
	Dport   int    `json:"dport"`
	Verdict string `json:"verdict"` // accept or drop
}

// Sysctls a scenario may set, with Linux's defaults.
var defaultSysctls = map[string]int{
	"net.core.wmem_default": 212992,
	"net.core.rmem_default": 212992,
	"net.core.wmem_max":     212992,
	"net.core.rmem_max":     212992,
	"net.ipv4.ip_forward":   0,
}

// NIC is a network interface and its driver model.
type NIC struct {
	Name string `json:"name"`
	// Model is the NIC hardware and its driver: "e1000e" (the default),
	// "cs89x0" (a CS8900A with the cs89x0 driver, the seed's "cs8900")
	// or "dm9000".
	Model string `json:"model"`
	// Driver is the kernel driver's name as ethtool -i prints it; if
	// given, it must be the model's ("e1000e", "cs89x0", "dm9000").
	Driver string `json:"driver"`
	MAC    string `json:"mac"`
	Addr   string `json:"addr"` // CIDR, e.g. 192.0.2.1/24
	MTU    int    `json:"mtu"`
	Qdisc  Qdisc  `json:"qdisc"` // "pfifo_fast", or an object, see Qdisc
	// TxQueueLen is `ip link set DEV txqueuelen N` (0: 1000).
	TxQueueLen int `json:"txqueuelen"`
	// Offloads turns features off (or back on) as `ethtool -K DEV tso
	// off gso off tx off rx off sg off` does; absent ones keep the
	// driver's defaults.
	Offloads *Offloads `json:"offloads"`
	// NeededHeadroom is dev->needed_headroom: extra room a device wants
	// in front of the link-layer header (a tunnel's outer headers, say).
	// ip_finish_output2 reallocates an skb with less (skb_expand_head).
	NeededHeadroom int `json:"needed_headroom"`
}

// Offloads are ethtool -K's feature switches; nil keeps the default.
type Offloads struct {
	SG     *bool `json:"sg"`      // scatter-gather (NETIF_F_SG)
	TSO    *bool `json:"tso"`     // TCP segmentation offload (NETIF_F_TSO)
	GSO    *bool `json:"gso"`     // generic segmentation offload (NETIF_F_GSO)
	TxCsum *bool `json:"tx_csum"` // transmit checksum offload (NETIF_F_HW_CSUM)
	RxCsum *bool `json:"rx_csum"` // receive checksum offload (NETIF_F_RXCSUM)
}

// Neighbour is a static entry: `ip neigh replace ADDR lladdr MAC dev DEV`.
type Neighbour struct {
	Addr   string `json:"addr"`
	LLAddr string `json:"lladdr"`
	Dev    string `json:"dev"`
}

// Tap is a packet capture running on a device.
type Tap struct {
	Dev     string `json:"dev"`
	Program string `json:"program"`
}

// Program is a task and the system calls it makes, in order, from AtNs.
type Program struct {
	Name  string `json:"name"`
	AtNs  int64  `json:"at_ns"`
	Steps []Step `json:"steps"`
	// Live marks a program started during a live run (Runner.AddProgram):
	// it starts once everything due by at_ns has run, as it did then.
	Live bool `json:"live,omitempty"`
}

// Step is one system call.
type Step struct {
	Op       string   `json:"op"`       // "socket", "bind", "sendto", "recvfrom", "sleep", "ping", "link", ...
	Type     string   `json:"type"`     // socket: "udp", or "icmp" for a ping socket
	As       string   `json:"as"`       // socket: the name later steps use
	Sock     string   `json:"sock"`     // sendto: which socket
	FD       *int     `json:"fd"`       // sendto: a raw descriptor instead of a socket name
	To       string   `json:"to"`       // sendto: "ADDR:PORT"
	Addr     string   `json:"addr"`     // bind: "ADDR:PORT", e.g. "0.0.0.0:9000"
	Size     int      `json:"size"`     // recvfrom: the buffer's size; ping: payload bytes (56)
	Ns       int64    `json:"ns"`       // sleep: how long; ping: interval (1 s)
	Count    int      `json:"count"`    // ping: how many echo requests (1); sendto: how many times (1)
	Data     string   `json:"data"`     // sendto: the payload
	Opt      string   `json:"opt"`      // setsockopt: SO_SNDBUF, SO_RCVBUF, SO_PRIORITY, TCP_NODELAY or IP_MTU_DISCOVER
	Flags    []string `json:"flags"`    // send, sendto: MSG_MORE, MSG_DONTWAIT
	Nonblock bool     `json:"nonblock"` // socket: SOCK_NONBLOCK (O_NONBLOCK)
	How      string   `json:"how"`      // shutdown: SHUT_RD, SHUT_WR or SHUT_RDWR
	Value    int      `json:"value"`    // setsockopt: the value
	Dev      string   `json:"dev"`      // link: which NIC
	State    string   `json:"state"`    // link: "up" or "down" (ip link set DEV up|down)
}

// BridgeEnd as a link's b end leads the cable out of the simulation, to
// a WebSocket↔TAP bridge and a real network (Runner.Bridge).
const BridgeEnd = "bridge"

// Link is a cable between two NICs, named "HOST.NIC", or from a NIC to
// the bridge (b is "bridge").
type Link struct {
	Name       string  `json:"name"`
	A          string  `json:"a"`
	B          string  `json:"b"`
	RateBps    int64   `json:"rate_bps"`
	DelayNs    int64   `json:"delay_ns"`
	LossPct    float64 `json:"loss_pct"`    // chance a frame is lost, 0..100
	ReorderPct float64 `json:"reorder_pct"` // chance a frame is overtaken, 0..100
	DupPct     float64 `json:"dup_pct"`     // chance a frame arrives twice, 0..100
	// DownAtNs, if set, cuts the cable then (both PHYs lose their link
	// partner); UpAtNs, if set, mends it later.
	DownAtNs int64 `json:"down_at_ns,omitempty"`
	UpAtNs   int64 `json:"up_at_ns,omitempty"`
}

// Parse reads and checks a scenario. Errors name the line and column.
func Parse(data []byte) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, positioned(data, err, dec.InputOffset())
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the scenario", where(data, dec.InputOffset()))
	}
	if err := f.check(newPositions(data)); err != nil {
		return nil, err
	}
	return &f, nil
}

func positioned(data []byte, err error, fallback int64) error {
	off := fallback
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1 // the offset is just past the bad byte
	case errors.As(err, &te):
		off = te.Offset
	}
	return fmt.Errorf("%s: %v", where(data, off), err)
}

// where turns a byte offset into "line L, column C".
func where(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
