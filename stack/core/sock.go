package core

import (
	"fmt"

	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
	"skbscope/stack/trace"
)

const sockC = "net/core/sock.c"

var (
	fnSockAllocSendPskb = kernel.NewFn("sock_alloc_send_pskb", sockC, "socket")
	fnSockWaitForWmem   = kernel.NewFn("sock_wait_for_wmem", sockC, "socket")
	fnSockWfree         = kernel.NewFn("sock_wfree", sockC, "socket")
	fnSockDefWriteSpace = kernel.NewFn("sock_def_write_space", sockC, "socket")
)

// SockAllocSendSkb is sock_alloc_send_skb() → sock_alloc_send_pskb(): an
// skb charged to the socket's send buffer. While sk_wmem_alloc has reached
// sk_sndbuf a blocking sender sleeps in sock_wait_for_wmem until
// sock_wfree makes room; a non-blocking one gets -EAGAIN. done receives
// the skb or the error, now or after the sleep.
func SockAllocSendSkb(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, size int, noblock bool, done func(*skb.SKB, int)) {
	k.Call(fnSockAllocSendPskb)
	var try func()
	try = func() {
		if sk.WmemAlloc < sk.SndBuf {
			s := AllocSkb(k, size)
			skbSetOwnerW(k, s, sk)
			k.RetS(fnSockAllocSendPskb, "skb", s)
			done(s, 0)
			return
		}
		if noblock || t == nil {
			k.Note(trace.State, fmt.Sprintf("sk_wmem_alloc %d has reached sk_sndbuf %d: SOCK_NOSPACE, -EAGAIN", sk.WmemAlloc, sk.SndBuf))
			k.RetS(fnSockAllocSendPskb, "NULL")
			done(nil, -kernel.EAGAIN)
			return
		}
		k.Call(fnSockWaitForWmem).Note = fmt.Sprintf("sk_wmem_alloc %d has reached sk_sndbuf %d: sleep until skbs in flight are freed", sk.WmemAlloc, sk.SndBuf)
		k.Sleep(t, &sk.WqWrite, func() {
			k.RetS(fnSockWaitForWmem, "0")
			try()
		})
	}
	try()
}

// SkbSetOwnerW is skb_set_owner_w() for callers outside this package:
// __ip_append_data charges the skbs after the first this way.
func SkbSetOwnerW(k *kernel.Kernel, s *skb.SKB, sk *socket.Sock) { skbSetOwnerW(k, s, sk) }

// SetWfree gives s back its owner and sock_wfree without charging again:
// ip_do_fragment does this for each frag_list skb whose truesize the head
// carried until then.
func SetWfree(k *kernel.Kernel, s *skb.SKB, sk *socket.Sock) {
	s.Sk, s.Owner = sk.Name, sk
	s.Destructor = func(s *skb.SKB) { sockWfree(k, s, sk) }
}

// skbSetOwnerW is skb_set_owner_w(): charge truesize to sk_wmem_alloc,
// set sock_wfree as the destructor that gives it back, and give the skb
// the socket's sk_txhash if it has one (skb_set_hash_from_sk), so a
// connected socket's packets share one flow hash.
func skbSetOwnerW(k *kernel.Kernel, s *skb.SKB, sk *socket.Sock) {
	s.Sk, s.Owner = sk.Name, sk
	if sk.TxHash != 0 {
		s.Hash, s.L4Hash = sk.TxHash, true
	}
	sk.WmemAlloc += s.Truesize
	s.Destructor = func(s *skb.SKB) { sockWfree(k, s, sk) }
}

// sockWfree is sock_wfree(): the skb's memory goes back to the sender's
// budget and sk_write_space runs: for UDP, whose sockets are freed by RCU
// (SOCK_RCU_FREE), sock_def_write_space_wfree; for others
// sock_def_write_space. Either wakes writers once the socket is writeable
// again (sock_writeable: less than half of sk_sndbuf in use).
func sockWfree(k *kernel.Kernel, s *skb.SKB, sk *socket.Sock) {
	k.Call(fnSockWfree, s)
	sk.WmemAlloc -= s.Truesize
	f := fnSockDefWriteSpace
	if sk.Protocol == udpProtocol {
		f = fnSockDefWriteSpaceWfree
	}
	e := k.Call(f)
	if sk.WqWrite.Len() > 0 && sk.WmemAlloc < sk.SndBuf/2 {
		e.Note = fmt.Sprintf("sk_wmem_alloc %d < sk_sndbuf/2: wake the writers", sk.WmemAlloc)
		k.WakeUp(&sk.WqWrite)
	}
	k.RetVoid(f)
	k.RetVoid(fnSockWfree)
}

// udpProtocol is IPPROTO_UDP.
const udpProtocol = 17

var fnSockDefWriteSpaceWfree = kernel.NewFn("sock_def_write_space_wfree", sockC, "socket")
