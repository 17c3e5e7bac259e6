package core

import (
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

// Budgets of net_hotdata (net/core/hotdata.c) with HZ=250.
const (
	NetdevBudget     = 300 // net.core.netdev_budget
	NapiWeight       = 64  // weight_p, per NAPI poll
	netRxTimeLimitNs = 2 * 4_000_000
	groNormalBatch   = 8 // net.core.gro_normal_batch
)

// SoftnetData is struct softnet_data: one CPU's NAPI and NET_TX lists.
type SoftnetData struct {
	pollList        []*NAPI
	inNetRxAction   bool
	outputQueue     []*Device // qdiscs waiting for NET_TX, by device
	completionQueue []*skb.SKB
	TimeSqueeze     int
	xmitMore        bool // softnet_data.xmit.more: netdev_xmit_more()
	Processed       int
	backlog         backlogState
	// xmitRecursion is softnet_data.xmit.recursion: how many
	// transmissions through noqueue devices this CPU is inside.
	xmitRecursion int
}

// NewNet sets up one host's net/core: per-CPU softnet_data, and the
// NET_TX and NET_RX softirq handlers (net_dev_init).
func NewNet(k *kernel.Kernel, sched QdiscRunner) *Net {
	n := &Net{K: k, Sched: sched, ptypeBase: map[uint16]PacketHandler{}}
	for range k.CPUs {
		n.softnet = append(n.softnet, &SoftnetData{})
	}
	k.OpenSoftirq(kernel.NetTxSoftirq, func() { n.netTxAction(k) })
	k.OpenSoftirq(kernel.NetRxSoftirq, func() { n.netRxAction(k) })
	return n
}

// NetdevXmitMore is netdev_xmit_more(): the skb the driver is given is
// not the last of its list, so the doorbell may wait.
func (n *Net) NetdevXmitMore(k *kernel.Kernel) bool { return n.Softnet(k).xmitMore }

// Softnet is this_cpu_ptr(&softnet_data).
func (n *Net) Softnet(k *kernel.Kernel) *SoftnetData { return n.softnet[k.CPU().ID] }

// PacketHandler is a struct packet_type on ptype_base: the handler of one
// ethertype (ip_rcv and ip_list_rcv for IPv4, arp_rcv for ARP).
type PacketHandler interface {
	Rcv(k *kernel.Kernel, s *skb.SKB, dev *Device)
	ListRcv(k *kernel.Kernel, list []*skb.SKB, dev *Device)
}

// DevAddPack is dev_add_pack(): handle ethertype with h.
func (n *Net) DevAddPack(ethertype uint16, h PacketHandler) { n.ptypeBase[ethertype] = h }
