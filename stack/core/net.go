package core

import "skbscope/stack/kernel"

// Net is one host's network namespace as net/core sees it: its devices,
// the global taps, and the qdisc machinery of net/sched.
type Net struct {
	K          *kernel.Kernel
	Devices    []*Device
	PtypeAll   []PacketType // net_hotdata.ptype_all
	Neighbours []*Neighbour
	Sched      QdiscRunner
	NeighOps   NeighOps // arp_tbl's ops, set by the ARP layer
	// Notifiers is the netdev notifier chain (register_netdevice_notifier),
	// called in order on NETDEV_UP, NETDEV_DOWN and the like.
	Notifiers []func(k *kernel.Kernel, ev NetdevEvent, dev *Device)

	// HashRnd is the flow dissector's hashrnd: nil until the first flow
	// hash draws it (flowHashSecretInit); a test may set it first.
	HashRnd *SiphashKey

	// lw is link_watch.c's event list, rate limit and work.
	lw linkwatch
	// rtnlHeld is the RTNL mutex; tasks wanting it sleep on rtnlWait.
	rtnlHeld bool
	rtnlWait kernel.WaitQueue

	softnet   []*SoftnetData
	ptypeBase map[uint16]PacketHandler
	// offloads is offload_base: GSO handlers by ethertype.
	offloads map[uint16]GSOSegmentFunc
}

// AddDevice registers dev (register_netdevice) with the next ifindex.
func (n *Net) AddDevice(dev *Device) {
	dev.Net = n
	dev.Ifindex = len(n.Devices) + 1
	if dev.HardHeaderLen == 0 {
		dev.HardHeaderLen = 14
	}
	if dev.TxQueueLen == 0 {
		dev.TxQueueLen = 1000
	}
	n.Devices = append(n.Devices, dev)
}

// Device finds a device by name (__dev_get_by_name).
func (n *Net) Device(name string) *Device {
	for _, d := range n.Devices {
		if d.Name == name {
			return d
		}
	}
	return nil
}
