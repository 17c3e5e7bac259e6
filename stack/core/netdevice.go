// Package core models net/core: net_device and its transmit path
// (net/core/dev.c), skb allocation and freeing (net/core/skbuff.c), the
// neighbour layer (net/core/neighbour.c) and packet taps.
package core

import (
	"net/netip"
	"strings"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// NetXmit is a qdisc's verdict, NET_XMIT_* (include/linux/netdevice.h).
type NetXmit int

// NET_XMIT_* values.
const (
	NetXmitSuccess NetXmit = 0
	NetXmitDrop    NetXmit = 1
	NetXmitCN      NetXmit = 2
)

func (r NetXmit) String() string {
	switch r {
	case NetXmitSuccess:
		return "NET_XMIT_SUCCESS"
	case NetXmitDrop:
		return "NET_XMIT_DROP"
	case NetXmitCN:
		return "NET_XMIT_CN"
	}
	return kernel.Err(r).String()
}

// NetdevTx is what ndo_start_xmit returns (enum netdev_tx).
type NetdevTx int

// NETDEV_TX_* values.
const (
	NetdevTxOK   NetdevTx = 0x00
	NetdevTxBusy NetdevTx = 0x10
)

func (r NetdevTx) String() string {
	switch r {
	case NetdevTxOK:
		return "NETDEV_TX_OK"
	case NetdevTxBusy:
		return "NETDEV_TX_BUSY"
	}
	// dev_hard_start_xmit can also carry a NET_XMIT code or an errno.
	return NetXmit(r).String()
}

// devXmitComplete is dev_xmit_complete(): the driver consumed the skb.
func devXmitComplete(rc NetdevTx) bool { return rc < 0x0f }

// NetdevOps is the part of struct net_device_ops a driver provides.
type NetdevOps interface {
	// NdoStartXmit hands one skb to the driver, in the caller's context
	// with bottom halves off, and returns NETDEV_TX_OK or NETDEV_TX_BUSY.
	NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *Device) NetdevTx
}

// NetdevOpenStop is the rest of net_device_ops for a driver that can be
// brought up and down: ndo_open and ndo_stop. Stop may sleep (drivers
// wait for their hardware), so it finishes by calling done in the task.
type NetdevOpenStop interface {
	NdoOpen(k *kernel.Kernel, dev *Device) int
	NdoStop(k *kernel.Kernel, t *kernel.Task, dev *Device, done func())
}

// PacketType is a struct packet_type on a ptype_all list: a tap such as
// tcpdump's AF_PACKET socket.
type PacketType interface {
	Func(k *kernel.Kernel, s *skb.SKB, dev *Device)
}

// Features are netdev_features_t bits (include/linux/netdev_features.h)
// the model uses.
type Features uint32

// NETIF_F_* bits.
const (
	FeatSG     Features = 1 << iota // scatter/gather
	FeatHWCsum                      // checksums any protocol from csum_start/csum_offset
	FeatRXCsum                      // verifies received checksums
	FeatTSO                         // TCP segmentation offload
	FeatGSO                         // generic segmentation offload, in software
)

func (f Features) String() string {
	var names []string
	for i, n := range []string{"sg", "tx-checksum-hw", "rx-checksum", "tso", "gso"} {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// Device is struct net_device, with its single TX queue.
type Device struct {
	Net      *Net
	Name     string
	Ifindex  int
	Driver   string
	Addr     header.MAC
	IPv4     netip.Prefix // the address `ip addr add` gave it
	MTU      int
	Up       bool // IFF_UP
	Loopback bool // IFF_LOOPBACK
	// PointToPoint is IFF_POINTOPOINT: one peer at the other end, so
	// every next hop shares one neighbour entry (keyed INADDR_ANY).
	PointToPoint bool
	// NoHeaderOps is dev->header_ops == NULL (ppp): no link-layer header
	// for the stack to build, so arp_constructor makes every neighbour
	// NUD_NOARP with neigh_direct_output.
	NoHeaderOps   bool
	HardHeaderLen int // ETH_HLEN for Ethernet
	// NeededHeadroom is dev->needed_headroom: room wanted in front of
	// the link-layer header, counted in LL_RESERVED_SPACE.
	NeededHeadroom int
	TxQueueLen     int
	Features       Features
	Ops            NetdevOps
	Qdisc          Qdisc // dev_queue->qdisc: what dev_queue_xmit enqueues to
	// QdiscSleeping is the configured qdisc (dev->qdisc) while noop_qdisc
	// stands in for it, the device being down or without carrier.
	QdiscSleeping Qdisc
	NoCarrier     bool // __LINK_STATE_NOCARRIER
	// stopping is __LINK_STATE_START already cleared by __dev_close_many
	// while IFF_UP is still set: netif_running() is false.
	stopping bool
	// linkwatchPending is __LINK_STATE_LINKWATCH_PENDING: on lweventlist.
	linkwatchPending bool
	PtypeAll         []PacketType // dev->ptype_all

	// txqStopped is __QUEUE_STATE_DRV_XOFF on the one netdev_queue.
	txqStopped bool
	// LLTX is dev->lltx: the driver does its own TX locking, so
	// __dev_queue_xmit takes no TX lock (lo, tunnels).
	LLTX bool
	// xmitLockOwner is the TX queue's xmit_lock_owner: the CPU holding
	// its lock plus one, 0 when free.
	xmitLockOwner int
	// stackXoff is __QUEUE_STATE_STACK_XOFF: BQL's stop, set by
	// netdev_tx_sent_queue when the bytes in flight exceed the limit.
	stackXoff bool
	// DQL is the queue's byte queue limits (netdev_queue.dql).
	DQL DQL

	TxPackets, TxBytes, TxDropped int
	RxPackets, RxBytes, RxDropped int
}

// LLReservedSpace is LL_RESERVED_SPACE(dev): the headroom a packet for
// this device should leave, rounded to HH_DATA_MOD (16).
func (d *Device) LLReservedSpace() int { return (d.HardHeaderLen+d.NeededHeadroom)&^15 + 16 }

// NetifStopQueue is netif_stop_queue(): the driver has no room.
func (d *Device) NetifStopQueue(k *kernel.Kernel) {
	d.txqStopped = true
	k.Note(trace.State, d.Name+" txq stopped (__QUEUE_STATE_DRV_XOFF set)")
}

// NetifXmitStopped is netif_xmit_frozen_or_stopped(): the driver
// (DRV_XOFF) or BQL (STACK_XOFF) has stopped the queue.
func (d *Device) NetifXmitStopped() bool { return d.txqStopped || d.stackXoff }

// StackXoff reports __QUEUE_STATE_STACK_XOFF alone.
func (d *Device) StackXoff() bool { return d.stackXoff }
