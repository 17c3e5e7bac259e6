package e1000e

// ndo_open and ndo_stop (e1000e_open, e1000e_close in netdev.c) and the
// link-up path: the LSC interrupt, the watchdog timer and task.

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// AutonegNs is how long the PHY takes to bring the link up after
// e1000e_open. Real copper autonegotiation takes one to three seconds;
// the model shortens it so that a lesson need not wait.
const AutonegNs = 500_000_000

var (
	fnOpen         = kernel.NewFn("e1000e_open", netdevC, "driver")
	fnClose        = kernel.NewFn("e1000e_close", netdevC, "driver")
	fnDown         = kernel.NewFn("e1000e_down", netdevC, "driver")
	fnCleanTxRing  = kernel.NewFn("e1000_clean_tx_ring", netdevC, "driver")
	fnCleanRxRing  = kernel.NewFn("e1000_clean_rx_ring", netdevC, "driver")
	fnRequestIrq   = kernel.NewFn("e1000_request_irq", netdevC, "driver")
	fnFreeIrq      = kernel.NewFn("e1000_free_irq", netdevC, "driver")
	fnNapiEnable   = kernel.NewFn("napi_enable", "net/core/dev.c", "driver")
	fnNapiDisable  = kernel.NewFn("napi_disable", "net/core/dev.c", "driver")
	fnTriggerLsc   = kernel.NewFn("e1000e_trigger_lsc", netdevC, "driver")
	fnWatchdog     = kernel.NewFn("e1000_watchdog", netdevC, "driver")
	fnWatchdogTask = kernel.NewFn("e1000_watchdog_task", netdevC, "driver")
	fnResetTask    = kernel.NewFn("e1000_reset_task", netdevC, "driver")
	fnReinitLocked = kernel.NewFn("e1000e_reinit_locked", netdevC, "driver")
	fnUp           = kernel.NewFn("e1000e_up", netdevC, "driver")
	workerCtx      = kernel.Context{Kind: kernel.CtxTask, Name: "kworker/0:2", PID: 31}
)

// NdoOpen is e1000e_open(): rings and interrupt set up, NAPI on, and a
// link-status-change interrupt asked for. The queue stays stopped and the
// carrier off until the watchdog task sees the link.
func (n *NIC) NdoOpen(k *kernel.Kernel, dev *core.Device) int {
	k.Call(fnOpen)
	n.Dev.NetifCarrierOff(k)
	n.Dev.NetifStopQueue(k)
	k.Note(trace.State, fmt.Sprintf("e1000e_setup_tx_resources, e1000e_setup_rx_resources: %d TX and %d RX descriptors", len(n.tx), len(n.rx)))
	k.Call(fnRequestIrq).Note = "request_irq: e1000_intr_msi handles " + dev.Name + "'s MSI"
	k.RetS(fnRequestIrq, "0")
	n.down = false
	n.linkUp = false // the PHY renegotiates
	k.Call(fnNapiEnable)
	k.RetVoid(fnNapiEnable)
	k.Call(fnIrqEnable).Note = "write IMS: interrupts on"
	n.irqEnable()
	k.RetVoid(fnIrqEnable)
	k.Call(fnTriggerLsc).Note = fmt.Sprintf("ask for an LSC interrupt; the PHY negotiates the link (%.1f s here)", float64(AutonegNs)/1e9)
	n.k.Sim.At(n.k.Now()+AutonegNs, func() {
		if !n.down && (n.Link == nil || !n.Link.Down) {
			n.linkUp = true
			n.raiseIRQ("LSC")
		}
	})
	k.RetVoid(fnTriggerLsc)
	return int(kernel.Ret(k, fnOpen, kernel.Err(0)))
}

// NdoStop is e1000e_close() → e1000e_down(): the adapter stopped, then
// the interrupt released.
func (n *NIC) NdoStop(k *kernel.Kernel, t *kernel.Task, dev *core.Device, done func()) {
	k.Call(fnClose)
	n.e1000eDown(k, t, func() {
		k.Call(fnFreeIrq)
		k.RetVoid(fnFreeIrq)
		k.Call(fnNapiDisable)
		k.RetVoid(fnNapiDisable)
		k.Note(trace.State, "e1000e: "+dev.Name+" NIC Link is Down")
		k.RetS(fnClose, "0")
		done()
	})
}

// e1000eDown is e1000e_down(): receive and transmit off, carrier off,
// queue stopped, a sleep while the hardware finishes its DMA, then
// every skb still in the rings freed.
func (n *NIC) e1000eDown(k *kernel.Kernel, t *kernel.Task, done func()) {
	k.Call(fnDown).Note = "RCTL.EN and TCTL.EN cleared: the MAC stops receiving and fetching TX descriptors"
	n.down = true
	n.Dev.NetifCarrierOff(k)
	n.Dev.NetifStopQueue(k)
	k.UsleepRange(t, 10_000_000, func() {
		k.Note(trace.State, "napi_synchronize: no poll is running any more")
		n.cleanTxRing(k)
		n.cleanRxRing(k)
		k.RetVoid(fnDown)
		done()
	})
}

// cleanTxRing is e1000_clean_tx_ring(): skbs still in the ring are
// released through e1000_put_txbuf with drop false, that is
// dev_consume_skb_any: not counted as drops. BQL is reset.
func (n *NIC) cleanTxRing(k *kernel.Kernel) {
	k.Call(fnCleanTxRing)
	for i := n.txNextToClean; i != n.txNextToUse; i = (i + 1) % len(n.tx) {
		if d := n.tx[i]; d.skb != nil {
			n.tx[i] = txDesc{}
			k.Dequeue(n.txRingName(), 0, d.skb)
			n.Dev.Net.DevKfreeSkbAnyReason(k, d.skb, skb.Consumed)
		}
	}
	clear(n.tx)
	n.txNextToUse, n.txNextToClean, n.txHWHead, n.txCtx = 0, 0, 0, nil
	n.Dev.NetdevTxResetQueue()
	k.Note(trace.State, "netdev_reset_queue: BQL forgets what was in flight")
	k.RetVoid(fnCleanTxRing)
}

// cleanRxRing is e1000_clean_rx_ring(): frames DMAed but not yet
// received are lost with their buffers.
func (n *NIC) cleanRxRing(k *kernel.Kernel) {
	k.Call(fnCleanRxRing)
	if n.rxUsed > 0 {
		k.Note(trace.State, fmt.Sprintf("%d received frames never reach the stack", n.rxUsed))
	}
	clear(n.rx)
	n.rxHead, n.rxUsed, n.rxNextToClean = 0, 0, 0
	k.RetVoid(fnCleanRxRing)
}

// watchdog is e1000_watchdog(), the timer the LSC interrupt arms: it
// schedules the watchdog task, which may sleep while it reads the PHY.
func (n *NIC) watchdog() {
	k := n.k
	k.Call(fnWatchdog)
	k.Later(0, workerCtx, n.watchdogTask)
	k.Note(trace.State, "schedule_work(&adapter->watchdog_task)")
	k.RetVoid(fnWatchdog)
}

// watchdogTask is e1000_watchdog_task(): with a link and no carrier,
// the queue is woken and the carrier turned on, which lets linkwatch
// activate the qdisc; with carrier and no link, the carrier goes off
// and the queue stops (linkwatch will put noop_qdisc in place). Without
// carrier, descriptors still in the TX ring can never be sent (the
// controller stops DMA without a link): FLAG_RESTART_NOW, and the reset
// task flushes them.
func (n *NIC) watchdogTask() {
	k := n.k
	k.Call(fnWatchdogTask)
	switch {
	case n.down:
	case n.linkUp && n.Dev.NoCarrier:
		k.Note(trace.State, fmt.Sprintf("e1000e: %s NIC Link is Up %d Mbps Full Duplex, Flow Control: Rx/Tx", n.Dev.Name, n.Link.RateBps/1_000_000))
		n.Dev.NetifWakeQueue(k)
		n.Dev.NetifCarrierOn(k)
	case !n.linkUp && !n.Dev.NoCarrier:
		k.Note(trace.State, "e1000e: "+n.Dev.Name+" NIC Link is Down")
		n.Dev.NetifCarrierOff(k)
		n.Dev.NetifStopQueue(k)
	}
	if !n.down && n.Dev.NoCarrier && n.txUsed() > 0 {
		k.Note(trace.State, fmt.Sprintf("no carrier and %d TX descriptors in use: FLAG_RESTART_NOW, schedule_work(&adapter->reset_task)", n.txUsed()))
		k.Later(0, workerCtx, n.resetTask)
	}
	k.RetVoid(fnWatchdogTask)
}

// resetTask is e1000_reset_task() → e1000e_reinit_locked(): under the
// RTNL lock, e1000e_down (which frees what the TX ring held, as consumed
// skbs, and resets BQL) and e1000e_up, which turns the hardware back on
// and asks for an LSC interrupt; the queue stays stopped until the
// watchdog finds a link.
func (n *NIC) resetTask() {
	k := n.k
	if n.worker == nil {
		n.worker = &kernel.Task{Name: workerCtx.Name, PID: workerCtx.PID}
	}
	k.Call(fnResetTask)
	n.Dev.Net.RtnlLock(k, n.worker, func() {
		if n.down {
			k.Note(trace.State, "__E1000_DOWN: the adapter is down already")
			n.Dev.Net.RtnlUnlock(k)
			k.RetVoid(fnResetTask)
			return
		}
		k.Call(fnReinitLocked)
		n.e1000eDown(k, n.worker, func() {
			k.Call(fnUp).Note = "e1000_configure, clear __E1000_DOWN, interrupts on"
			n.down = false
			n.irqEnable()
			k.Call(fnTriggerLsc)
			n.raiseIRQ("LSC")
			k.RetVoid(fnTriggerLsc)
			k.RetVoid(fnUp)
			k.RetVoid(fnReinitLocked)
			n.Dev.Net.RtnlUnlock(k)
			k.RetVoid(fnResetTask)
		})
	})
}
