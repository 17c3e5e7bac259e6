package ppp

import (
	"fmt"

	"skbscope/nicsim"
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

// The serial port under the tty: a 16550A-class UART driven by the 8250
// driver through serial_core. Only what PPP needs is modelled: the
// transmit circular buffer that tty write fills (UART_XMIT_SIZE, one
// page), the transmitter clocking it out at the line rate, the write
// wakeup when fewer than WAKEUP_CHARS are left, and the receive side
// pushing bytes through the tty flip buffer to the line discipline from
// a workqueue.
//
// Simplified: the real UART interrupts each time its 16-byte FIFO needs
// refilling (transmit) or reaches its trigger level (receive). Here the
// transmitter takes a stretch of bytes (up to the end of a PPP frame) at
// a time; its bytes count as pending in the buffer until each has left
// at the line rate, and transmit interrupts come when fewer than
// WAKEUP_CHARS are pending (the one that would call uart_write_wakeup)
// and when the stretch is out. The receiver interrupts once per stretch,
// when its last byte is in. Bytes leave and arrive at exactly the line
// rate.

const (
	serialCoreC = "drivers/tty/serial/serial_core.c"
	port8250C   = "drivers/tty/serial/8250/8250_port.c"
	ttyBufferC  = "drivers/tty/tty_buffer.c"

	// UARTXmitSize is UART_XMIT_SIZE: the transmit buffer is one page.
	UARTXmitSize = 4096
	// WakeupChars is WAKEUP_CHARS: below this many pending bytes the
	// driver asks the line discipline for more.
	WakeupChars = 256
	// RateBps is the lesson's line: 115200 bit/s, 8N1.
	RateBps = 115200
	// BitsPerByte is 8N1: a start bit, 8 data bits, a stop bit.
	BitsPerByte = 10
)

var (
	fnUARTWrite           = kernel.NewFn("uart_write", serialCoreC, "driver")
	fnSerial8250Interrupt = kernel.NewFn("serial8250_interrupt", "drivers/tty/serial/8250/8250_core.c", "driver")
	fnSerial8250TxChars   = kernel.NewFn("serial8250_tx_chars", port8250C, "driver")
	fnSerial8250RxChars   = kernel.NewFn("serial8250_rx_chars", port8250C, "driver")
	fnUARTWriteWakeup     = kernel.NewFn("uart_write_wakeup", serialCoreC, "driver")
	fnTTYWakeup           = kernel.NewFn("tty_wakeup", "drivers/tty/tty_io.c", "driver")
	fnTTYFlipBufferPush   = kernel.NewFn("tty_flip_buffer_push", ttyBufferC, "driver")
	fnFlushToLdisc        = kernel.NewFn("flush_to_ldisc", ttyBufferC, "driver")
)

// uart is the serial port (ttyS0) and its tty, with the PPP line
// discipline attached.
type uart struct {
	k      *kernel.Kernel
	name   string
	ldisc  *Async
	Link   *nicsim.Link
	kwork  kernel.Context
	xmit   []byte // port->xmit_fifo: bytes not yet taken by the transmitter
	txBusy bool   // the transmitter is clocking a stretch out
	// the stretch being clocked out: its length and when its last bit
	// leaves; each byte of it is pending until it has left
	txLen int
	txEnd int64
	txGen int    // counts stretches, so a stale wakeup check is ignored
	flip  []byte // received bytes not yet given to the line discipline
	work  bool   // flush_to_ldisc is queued

	ttyDoWriteWakeup bool // TTY_DO_WRITE_WAKEUP
}

func newUART(k *kernel.Kernel, dev string, a *Async) *uart {
	return &uart{k: k, name: "ttyS0 (" + dev + ")", ldisc: a, kwork: k.NewTask("kworker/u2:0").Context()}
}

func (u *uart) irqName() string { return "ttyS0" }

// uartWrite is uart_write(), the tty's write: copy what fits into the
// circular buffer and start the transmitter. Returns how many bytes it
// took.
func (u *uart) uartWrite(k *kernel.Kernel, b []byte) int {
	n := min(len(b), UARTXmitSize-u.pending())
	k.Call(fnUARTWrite).Note = fmt.Sprintf("kfifo_in: %d of %d bytes fit in the %d-byte xmit_fifo; __uart_start", n, len(b), UARTXmitSize)
	u.xmit = append(u.xmit, b[:n]...)
	ev := k.Event(trace.Enqueue, nil)
	ev.Queue, ev.QLen = u.name+" xmit_fifo (bytes)", len(u.xmit)
	if !u.txBusy {
		u.startTx()
	}
	return kernel.Ret(k, fnUARTWrite, n)
}

// startTx clocks the next stretch out: the pending bytes up to the end
// of the next PPP frame (its closing flag), or all of them.
func (u *uart) startTx() {
	if len(u.xmit) == 0 || u.Link == nil {
		return
	}
	n := 0
	for n < len(u.xmit) && u.xmit[n] == PPPFlag {
		n++
	}
	for n < len(u.xmit) {
		n++
		if u.xmit[n-1] == PPPFlag {
			break
		}
	}
	chunk := append([]byte(nil), u.xmit[:n]...)
	u.xmit = u.xmit[n:]
	done, err := u.Link.Transmit(u, chunk, u.k.Now())
	if err != nil {
		u.k.Note(trace.State, err.Error())
		return
	}
	u.txBusy, u.txLen, u.txEnd = true, n, done
	u.txGen++
	gen := u.txGen
	// The THRE interrupt at which fewer than WAKEUP_CHARS are pending.
	if r := WakeupChars - 1 - len(u.xmit); r >= 0 {
		at := max(u.k.Now(), done-int64(r)*u.byteNs())
		if at < done {
			u.k.Sim.At(at, func() {
				if u.txGen == gen && u.txBusy {
					u.interrupt(func(k *kernel.Kernel) { u.txChars(k) })
				}
			})
		}
	}
	u.k.Sim.At(done, func() {
		u.txBusy = false
		u.interrupt(func(k *kernel.Kernel) { u.txChars(k) })
	})
}

// byteNs is one byte's time on the line.
func (u *uart) byteNs() int64 {
	return (int64(u.Link.BitsPerByte)*1_000_000_000 + u.Link.RateBps - 1) / u.Link.RateBps
}

// pending is uart_circ_chars_pending(): the bytes in the buffer, those
// of the stretch on the line that have not left yet included.
func (u *uart) pending() int {
	n := len(u.xmit)
	if u.txBusy && u.Link != nil {
		left := u.txEnd - u.k.Now()
		n += min(u.txLen, int((left+u.byteNs()-1)/u.byteNs()))
	}
	return n
}

// interrupt raises the UART's interrupt line: serial8250_interrupt in
// hard interrupt context, running fn (the handler's rx or tx part).
func (u *uart) interrupt(fn func(k *kernel.Kernel)) {
	k := u.k
	k.Event(trace.IRQ, nil).Note = u.name + " raises its interrupt line"
	k.RunOn(k.Sim.Now(), 0, kernel.Context{Kind: kernel.CtxHardirq, Name: u.irqName()}, func() {
		k.HardIRQ(u.irqName(), func() {
			k.Call(fnSerial8250Interrupt).Note = "serial8250_handle_irq: read IIR and LSR"
			fn(k)
			k.RetS(fnSerial8250Interrupt, "IRQ_HANDLED")
		})
	})
}

// txChars is serial8250_tx_chars(): the transmitter is empty (THRE);
// feed it the next bytes, and when fewer than WAKEUP_CHARS are left ask
// the tty's writer for more (uart_write_wakeup).
func (u *uart) txChars(k *kernel.Kernel) {
	seq := k.Call(fnSerial8250TxChars).Seq
	if !u.txBusy {
		u.startTx()
	}
	noteAt(k, seq, fmt.Sprintf("THRE: %d bytes pending in the transmit buffer", u.pending()))
	if u.pending() < WakeupChars {
		k.Call(fnUARTWriteWakeup).Note = fmt.Sprintf("fewer than WAKEUP_CHARS (%d) pending: tty_port_tty_wakeup", WakeupChars)
		e := k.Call(fnTTYWakeup)
		if u.ttyDoWriteWakeup {
			e.Note = "TTY_DO_WRITE_WAKEUP set: the line discipline's write_wakeup"
			u.ldisc.pppAsyncttyWakeup(k)
		} else {
			e.Note = "TTY_DO_WRITE_WAKEUP clear: nobody waits to write"
		}
		k.RetVoid(fnTTYWakeup)
		k.RetVoid(fnUARTWriteWakeup)
	}
	k.RetVoid(fnSerial8250TxChars)
}

// Kernel is the host the UART sits in.
func (u *uart) Kernel() *kernel.Kernel { return u.k }

// Arrive is bytes from the line at the receiver: the UART interrupts,
// serial8250_rx_chars moves them into the tty's flip buffer and
// tty_flip_buffer_push queues flush_to_ldisc on a workqueue, which
// hands them to the line discipline in process context (kworker).
func (u *uart) Arrive(b []byte) {
	u.interrupt(func(k *kernel.Kernel) {
		k.Call(fnSerial8250RxChars).Note = fmt.Sprintf("%d bytes from the receive FIFO into the tty flip buffer", len(b))
		u.flip = append(u.flip, b...)
		k.Call(fnTTYFlipBufferPush).Note = "queue_work(system_unbound_wq, &buf->work): flush_to_ldisc will run in an unbound kworker"
		if !u.work {
			u.work = true
			k.RunOn(k.Now(), 0, u.kwork, func() { u.flushToLdisc(k) })
		}
		k.RetVoid(fnTTYFlipBufferPush)
		k.RetVoid(fnSerial8250RxChars)
	})
}

// flushToLdisc is flush_to_ldisc(), the tty buffer's work function: give
// the flip buffer's bytes to the line discipline's receive_buf
// (ppp_asynctty_receive).
func (u *uart) flushToLdisc(k *kernel.Kernel) {
	u.work = false
	b := u.flip
	u.flip = nil
	k.Call(fnFlushToLdisc).Note = fmt.Sprintf("%d bytes to the N_PPP line discipline", len(b))
	u.ldisc.pppAsyncttyReceive(k, b)
	k.RetVoid(fnFlushToLdisc)
}
