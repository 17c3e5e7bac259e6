package core

import (
	"skbscope/stack/kernel"
	"skbscope/stack/trace"
)

// What `ip link set DEV up|down` does: one RTM_NEWLINK message on a
// NETLINK_ROUTE socket, handled synchronously in the sending task
// (net/netlink/af_netlink.c, net/core/rtnetlink.c). The model starts at
// the system call with the message already built.

const (
	afNetlinkC = "net/netlink/af_netlink.c"
	rtnetlinkC = "net/core/rtnetlink.c"
)

var (
	fnSysSendmsg       = kernel.NewFn("__sys_sendmsg", "net/socket.c", "syscall")
	fnNetlinkSendmsg   = kernel.NewFn("netlink_sendmsg", afNetlinkC, "socket")
	fnNetlinkUnicast   = kernel.NewFn("netlink_unicast", afNetlinkC, "socket")
	fnRtnetlinkRcv     = kernel.NewFn("rtnetlink_rcv", rtnetlinkC, "dev")
	fnNetlinkRcvSkb    = kernel.NewFn("netlink_rcv_skb", afNetlinkC, "dev")
	fnRtnetlinkRcvMsg  = kernel.NewFn("rtnetlink_rcv_msg", rtnetlinkC, "dev")
	fnRtnlNewlink      = kernel.NewFn("rtnl_newlink", rtnetlinkC, "dev")
	fnRtnlNewlinkInner = kernel.NewFn("__rtnl_newlink", rtnetlinkC, "dev")
	fnDoSetlink        = kernel.NewFn("do_setlink", rtnetlinkC, "dev")
)

// IPLinkSet is `ip link set DEV up|down`: sendmsg() of RTM_NEWLINK with
// IFF_UP changed, down to dev_change_flags under the RTNL lock. done gets
// sendmsg's return value in task t (closing a device may sleep).
func IPLinkSet(k *kernel.Kernel, t *kernel.Task, dev *Device, up bool, done func(rc int)) {
	state := map[bool]string{true: "up", false: "down"}[up]
	k.Call(fnSysSendmsg).Note = "ip link set " + dev.Name + " " + state + ": RTM_NEWLINK on a NETLINK_ROUTE socket (via ____sys_sendmsg, sock_sendmsg)"
	k.Call(fnNetlinkSendmsg)
	k.Call(fnNetlinkUnicast).Note = "to the kernel's rtnetlink socket: handled now, in this task"
	k.Call(fnRtnetlinkRcv)
	k.Call(fnNetlinkRcvSkb)
	k.Call(fnRtnetlinkRcvMsg).Note = "rtnl_lock(): one configuration change at a time"
	dev.Net.RtnlLock(k, t, func() { rtnlNewlink(k, t, dev, up, done) })
}

// rtnlNewlink is the RTM_NEWLINK handling under the RTNL lock, and the
// way back up to sendmsg once the flags changed.
func rtnlNewlink(k *kernel.Kernel, t *kernel.Task, dev *Device, up bool, done func(rc int)) {
	const msgLen = 32 // nlmsghdr + ifinfomsg
	k.Call(fnRtnlNewlink)
	k.Call(fnRtnlNewlinkInner).Note = dev.Name + " exists: change it"
	k.Call(fnDoSetlink).Note = "ifi_change has IFF_UP"
	DevChangeFlags(k, t, dev, up, func(rc int) {
		k.RetS(fnDoSetlink, kernel.Err(rc).String())
		k.RetS(fnRtnlNewlinkInner, kernel.Err(rc).String())
		k.RetS(fnRtnlNewlink, kernel.Err(rc).String())
		dev.Net.RtnlUnlock(k)
		k.RetS(fnRtnetlinkRcvMsg, kernel.Err(rc).String())
		k.Note(trace.State, "netlink_ack: the answer (NLMSG_ERROR, error "+kernel.Err(rc).String()+") is queued for ip to read")
		k.RetS(fnNetlinkRcvSkb, "0")
		k.RetVoid(fnRtnetlinkRcv)
		k.RetS(fnNetlinkUnicast, "32")
		k.RetS(fnNetlinkSendmsg, "32")
		done(int(kernel.Ret(k, fnSysSendmsg, kernel.Err(msgLen))))
	})
}
