// Package loopback models drivers/net/loopback.c: the lo device, whose
// transmit is a receive on the same CPU.
package loopback

import (
	"fmt"
	"net/netip"

	"skbscope/stack/core"
	"skbscope/stack/ethernet"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

var fnLoopbackXmit = kernel.NewFn("loopback_xmit", "drivers/net/loopback.c", "driver")

// MTU is lo's default MTU (64 KiB since 4.x).
const MTU = 65536

// Device is the loopback driver.
type Device struct{ dev *core.Device }

// New registers lo (127.0.0.1/8, noqueue, up) on net.
func New(net *core.Net) *core.Device {
	dev := &core.Device{Name: "lo", Driver: "loopback", MTU: MTU, Up: true, Loopback: true, LLTX: true, Qdisc: &core.Noqueue{},
		IPv4: netip.MustParsePrefix("127.0.0.1/8"), Features: core.FeatSG | core.FeatHWCsum | core.FeatRXCsum | core.FeatTSO | core.FeatGSO}
	net.AddDevice(dev)
	dev.Ops = Device{dev}
	return dev
}

// NdoStartXmit is loopback_xmit(): orphan the skb (the sender's buffer is
// free at once), read its Ethernet header as a receiver would, and queue
// it on this CPU's backlog with __netif_rx. It never refuses.
func (d Device) NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *core.Device) core.NetdevTx {
	k.Call(fnLoopbackXmit, s)
	// lo's "wire" is memory: record the frame as tcpdump -i lo sees it.
	w := k.Event(trace.Wire, nil)
	w.Wire = k.Name + ".lo"
	w.Frame = append([]byte(nil), s.Data()...)
	w.Note = fmt.Sprintf("%d bytes looped back on %s", len(w.Frame), dev.Name)
	core.SkbOrphan(k, s)
	s.Protocol = ethernet.EthTypeTrans(k, s, dev)
	if dev.Net.NetifRx(k, s) == 0 {
		dev.TxPackets++
		dev.RxPackets++
	}
	return kernel.Ret(k, fnLoopbackXmit, core.NetdevTxOK)
}
