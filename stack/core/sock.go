package core

import (
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
	"skbscope/stack/trace"
)

var fnSockAllocSendPskb = kernel.NewFn("sock_alloc_send_pskb", "net/core/sock.c", "socket")

// SockAllocSendSkb is sock_alloc_send_skb() → sock_alloc_send_pskb(): an
// skb charged to the socket's send buffer. A full sndbuf would put a
// blocking sender to sleep; with MSG_DONTWAIT it is -EAGAIN.
func SockAllocSendSkb(k *kernel.Kernel, sk *socket.Sock, size int, noblock bool) (*skb.SKB, int) {
	k.Call(fnSockAllocSendPskb)
	if sk.WmemAlloc >= sk.SndBuf {
		k.Note(trace.State, "sk_wmem_alloc has reached sk_sndbuf: SOCK_NOSPACE")
		// Sleeping in sock_wait_for_wmem arrives with blocking sockets.
		k.RetS(fnSockAllocSendPskb, "NULL")
		return nil, -kernel.EAGAIN
	}
	s := AllocSkb(k, size)
	skbSetOwnerW(k, s, sk)
	k.RetS(fnSockAllocSendPskb, "skb", s)
	return s, 0
}

// skbSetOwnerW is skb_set_owner_w(): charge truesize to sk_wmem_alloc and
// set sock_wfree as the destructor that gives it back.
func skbSetOwnerW(k *kernel.Kernel, s *skb.SKB, sk *socket.Sock) {
	s.Sk = sk.Name
	sk.WmemAlloc += s.Truesize
	s.Destructor = func(s *skb.SKB) {
		k.Call(fnSockWfree, s)
		sk.WmemAlloc -= s.Truesize
		k.RetVoid(fnSockWfree)
	}
}

var fnSockWfree = kernel.NewFn("sock_wfree", "net/core/sock.c", "socket")
