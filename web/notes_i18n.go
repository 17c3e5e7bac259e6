package web

import (
	"regexp"
)

// A trace's notes ("what the function decided") are written by the
// simulation, in English. The most common ones are translated here by
// pattern: each rule matches a whole note and rewrites it, keeping its
// numbers, addresses and kernel names (${1}, ${2}, … in the translations).
// A note no rule matches is shown in English, marked as such.

type noteRule struct {
	re *regexp.Regexp
	tr [2]string // zh-Hans, zh-Hant
}

func rule(pattern, hans, hant string) noteRule {
	return noteRule{regexp.MustCompile("^" + pattern + "$"), [2]string{hans, hant}}
}

// Any text and a number, as the patterns capture them.
const (
	anyText = `(.+?)`
	num     = `(\d+)`
)

var noteRules = []noteRule{
	rule(num+` descriptors free, `+num+` needed`, "${1} 个描述符空闲，需要 ${2} 个", "${1} 個描述元空閒，需要 ${2} 個"),
	rule(`IRQ line `+anyText, "中断线 ${1}", "中斷線 ${1}"),
	rule(`NET_RX_SOFTIRQ pending`, "NET_RX_SOFTIRQ 待处理", "NET_RX_SOFTIRQ 待處理"),
	rule(`NET_TX_SOFTIRQ pending`, "NET_TX_SOFTIRQ 待处理", "NET_TX_SOFTIRQ 待處理"),
	rule(`netdev_budget `+num+`, time limit `+num+` jiffies`, "netdev_budget ${1}，时间上限 ${2} 个 jiffies", "netdev_budget ${1}，時間上限 ${2} 個 jiffies"),
	rule(`budget `+num+` left of netdev_budget `+num, "netdev_budget ${2} 还剩 ${1}", "netdev_budget ${2} 還剩 ${1}"),
	rule(`ICR read: `+num+` TX descriptors done, `+num+` RX buffers filled; schedule NAPI`,
		"读取 ICR：${1} 个 TX 描述符完成，${2} 个 RX 缓冲区已填充；调度 NAPI", "讀取 ICR：${1} 個 TX 描述元完成，${2} 個 RX 緩衝區已填入；排程 NAPI"),
	rule(`NAPI_STATE_SCHED set: `+anyText+` joins this CPU's poll_list`, "设置 NAPI_STATE_SCHED：${1} 加入本 CPU 的 poll_list", "設定 NAPI_STATE_SCHED：${1} 加入本 CPU 的 poll_list"),
	rule(num+` packets < weight `+num+`: polling is over, the driver re-enables its interrupt`,
		"${1} 个包 < weight ${2}：轮询结束，驱动重新打开中断", "${1} 個封包 < weight ${2}：輪詢結束，驅動程式重新開啟中斷"),
	rule(`write IMS: interrupts back on`, "写 IMS：中断重新打开", "寫入 IMS：中斷重新開啟"),
	rule(`new sk_buff: head, data and tail at offset `+num+`, end at `+num,
		"新的 sk_buff：head、data 和 tail 在偏移 ${1}，end 在 ${2}", "新的 sk_buff：head、data 和 tail 在偏移 ${1}，end 在 ${2}"),
	rule(`bottom halves off \(rcu_read_lock_bh\) from here to the driver`,
		"从这里到驱动都关闭下半部（rcu_read_lock_bh）", "從這裡到驅動程式都關閉下半部（rcu_read_lock_bh）"),
	rule(`(NF_INET_\w+): no rules registered, accept`, "${1}：没有注册规则，接受", "${1}：沒有註冊規則，接受"),
	rule(`fib_lookup: `+anyText, "fib_lookup（路由查找）：${1}", "fib_lookup（路由查詢）：${1}"),
	rule(anyText+` is NUD_REACHABLE with a cached header: fast path`, "${1} 处于 NUD_REACHABLE，且有缓存的头部：快速路径", "${1} 處於 NUD_REACHABLE，且有快取的標頭：快速路徑"),
	rule(`ethertype `+anyText+` → `+anyText, "以太网类型 ${1} → ${2}", "乙太網路類型 ${1} → ${2}"),
	rule(`no raw sockets`, "没有 raw socket", "沒有 raw socket"),
	rule(`receive skb: `+num+` bytes of headroom \(NET_SKB_PAD\), room for `+num,
		"接收 skb：${1} 字节头部空间（NET_SKB_PAD），可容纳 ${2} 字节", "接收 skb：${1} 位元組標頭空間（NET_SKB_PAD），可容納 ${2} 位元組"),
	rule(anyText+`'s only txq is stopped: leave the skbs in `+anyText, "${1} 唯一的发送队列已停止：skb 留在 ${2} 中", "${1} 唯一的傳送佇列已停止：skb 留在 ${2} 中"),
	rule(`local `+anyText+` dev `+anyText+`: dst.input = ip_local_deliver`, "本机地址 ${1}（设备 ${2}）：dst.input = ip_local_deliver", "本機位址 ${1}（裝置 ${2}）：dst.input = ip_local_deliver"),
	rule(anyText+`: DMA of a `+num+`-byte frame into RX descriptor `+num, "${1}：DMA 把 ${2} 字节的帧写入 RX 描述符 ${3}", "${1}：DMA 把 ${2} 位元組的訊框寫入 RX 描述元 ${3}"),
	rule(num+` of gro_normal_batch `+num, "gro_normal_batch ${2} 中的第 ${1} 个", "gro_normal_batch ${2} 中的第 ${1} 個"),
	rule(`IPCS and TCPCS set: the NIC verified the checksums, CHECKSUM_UNNECESSARY`,
		"IPCS 和 TCPCS 置位：网卡已校验校验和，CHECKSUM_UNNECESSARY", "IPCS 和 TCPCS 已設定：網路卡已驗證檢查碼，CHECKSUM_UNNECESSARY"),
	rule(`len `+num+` ≤ mtu `+num+`, not GSO: no fragmentation`, "长度 ${1} ≤ mtu ${2}，不是 GSO：无需分片", "長度 ${1} ≤ mtu ${2}，不是 GSO：不需分段"),
	rule(`descriptors owned by the NIC until it writes back DD`, "描述符归网卡所有，直到它写回 DD", "描述元歸網路卡所有，直到它寫回 DD"),
	rule(`dma_unmap, then dev_consume_skb_any`, "先 dma_unmap，再 dev_consume_skb_any", "先 dma_unmap，再 dev_consume_skb_any"),
	rule(`descriptor `+num+`: dma_map_single\(`+num+` bytes\)`, "描述符 ${1}：dma_map_single（${2} 字节）", "描述元 ${1}：dma_map_single（${2} 位元組）"),
	rule(`writel\(TDT=`+num+`\): doorbell, the NIC will fetch the descriptors`, "writel(TDT=${1})：按门铃，网卡会来取描述符", "writel(TDT=${1})：按門鈴，網路卡會來取描述元"),
	rule(num+` skb\(s\) for this handler, as a list`, "给这个处理函数的 ${1} 个 skb，以链表传递", "給這個處理函式的 ${1} 個 skb，以串列傳遞"),
	rule(anyText+`: TX descriptor `+num+` written back \(DD\): frame sent`, "${1}：TX 描述符 ${2} 已写回（DD）：帧已发出", "${1}：TX 描述元 ${2} 已寫回（DD）：訊框已送出"),
	rule(anyText+` has NETIF_F_HW_CSUM: the NIC will finish the checksum`, "${1} 有 NETIF_F_HW_CSUM：由网卡完成校验和", "${1} 有 NETIF_F_HW_CSUM：由網路卡完成檢查碼"),
	rule(num+` packets, `+num+` bytes done`, "完成 ${1} 个包、${2} 字节", "完成 ${1} 個封包、${2} 位元組"),
	rule(anyText+` raises its MSI \(ICR `+anyText+`\)`, "${1} 发出 MSI 中断（ICR ${2}）", "${1} 發出 MSI 中斷（ICR ${2}）"),
	rule(num+` bytes on `+anyText+` at `+anyText+`: `+num+` ns to clock out, `+num+` ns to the far end`,
		"${1} 字节在 ${2} 上以 ${3} 发送：${4} ns 送出，${5} ns 到达对端", "${1} 位元組在 ${2} 上以 ${3} 傳送：${4} ns 送出，${5} ns 到達對端"),
	rule(anyText+`'s qdisc joins the output_queue; NET_TX will run it`, "${1} 的 qdisc 加入 output_queue；由 NET_TX 来运行它", "${1} 的 qdisc 加入 output_queue；由 NET_TX 來執行它"),
	rule(`run the qdiscs of the output_queue`, "运行 output_queue 上的 qdisc", "執行 output_queue 上的 qdisc"),
	rule(anyText+` txq: under the BQL limit again, __QUEUE_STATE_STACK_XOFF cleared`, "${1} 发送队列：重新低于 BQL 上限，清除 __QUEUE_STATE_STACK_XOFF", "${1} 傳送佇列：重新低於 BQL 上限，清除 __QUEUE_STATE_STACK_XOFF"),
	rule(`header valid`, "头部有效", "標頭有效"),
	rule(`header valid; pskb_trim_rcsum drops `+num+` bytes of Ethernet padding`, "头部有效；pskb_trim_rcsum 去掉 ${1} 字节以太网填充", "標頭有效；pskb_trim_rcsum 去掉 ${1} 位元組乙太網路填充"),
	rule(`already bound to port `+num, "已经绑定到端口 ${1}", "已經綁定到連接埠 ${1}"),
	rule(anyText+` bound to port `+num, "${1} 绑定到端口 ${2}", "${1} 綁定到連接埠 ${2}"),
	rule(`pfifo_fast is busy or not empty: enqueue, then run it`, "pfifo_fast 忙或不为空：先入队，再运行它", "pfifo_fast 忙碌或不為空：先入佇列，再執行它"),
	rule(`pfifo_fast is empty and idle: bypass it \(TCQ_F_CAN_BYPASS\)`, "pfifo_fast 为空且空闲：绕过它（TCQ_F_CAN_BYPASS）", "pfifo_fast 為空且閒置：繞過它（TCQ_F_CAN_BYPASS）"),
	rule(`skb->priority `+num+` → band `+num, "skb->priority ${1} → 第 ${2} 个 band", "skb->priority ${1} → 第 ${2} 個 band"),
	rule(`no connected socket to attach early: leave it to the route lookup`, "没有可提前关联的已连接 socket：交给路由查找", "沒有可提前關聯的已連線 socket：交給路由查詢"),
	rule(`protocol `+num+`: `+anyText, "协议 ${1}：${2}", "協定 ${1}：${2}"),
	rule(`udp4_csum_init: the NIC verified the checksum`, "udp4_csum_init：网卡已校验校验和", "udp4_csum_init：網路卡已驗證檢查碼"),
	rule(`inet_gro_receive: nothing to merge with, GRO_NORMAL`, "inet_gro_receive：没有可合并的，GRO_NORMAL", "inet_gro_receive：沒有可合併的，GRO_NORMAL"),
	rule(`RX descriptor `+num+`'s own skb goes up the stack`, "RX 描述符 ${1} 自己的 skb 上交协议栈", "RX 描述元 ${1} 自己的 skb 上交協定堆疊"),
	rule(`refill: RX descriptor `+num+` gets a fresh buffer`, "补充：RX 描述符 ${1} 得到新的缓冲区", "補充：RX 描述元 ${1} 得到新的緩衝區"),
	rule(`skb_copy_datagram_msg: `+num+` bytes to the user`, "skb_copy_datagram_msg：${1} 字节复制给用户", "skb_copy_datagram_msg：${1} 位元組複製給使用者"),
	rule(num+` task\(s\) waiting on `+anyText, "${1} 个任务在 ${2} 上等待", "${1} 個任務在 ${2} 上等待"),
	rule(`header prediction hit: in-order data \(fast path\)`, "头部预测命中：按序数据（快速路径）", "標頭預測命中：依序資料（快速路徑）"),
	rule(`ACK delayed by up to `+num+` ms \(ato\)`, "ACK 最多延迟 ${1} ms（ato）", "ACK 最多延遲 ${1} ms（ato）"),
	rule(anyText+` armed: fires at `+anyText, "${1} 已设定：在 ${2} 到期", "${1} 已設定：在 ${2} 到期"),
	rule(anyText+` cancelled`, "${1} 已取消", "${1} 已取消"),
	rule(`(ICSK_TIME_\w+) in `+num+` ms`, "${1}：${2} ms 后到期", "${1}：${2} ms 後到期"),
	rule(anyText+` is TASK_INTERRUPTIBLE: the CPU is free for others`, "${1} 进入 TASK_INTERRUPTIBLE：CPU 让给别人", "${1} 進入 TASK_INTERRUPTIBLE：CPU 讓給別人"),
	rule(`(sk[\w.]+):? (TCP_\w+) → (TCP_\w+)`, "${1}：${2} → ${3}", "${1}：${2} → ${3}"),
	rule(`(sk[\w.]+) is now (TCP_\w+)`, "${1} 现在是 ${2}", "${1} 現在是 ${2}"),
	rule(`TIME_WAIT for 60 s \(TCP_TIMEWAIT_LEN\)`, "TIME_WAIT 持续 60 秒（TCP_TIMEWAIT_LEN）", "TIME_WAIT 持續 60 秒（TCP_TIMEWAIT_LEN）"),
	rule(`rcv_wnd `+num+` \(whole segments of `+num+`\), rcv_wscale `+num+` for tcp_rmem\[2\] `+num+`, window_clamp `+num,
		"rcv_wnd ${1}（${2} 的整数倍），rcv_wscale ${3} 对应 tcp_rmem[2] ${4}，window_clamp ${5}", "rcv_wnd ${1}（${2} 的整數倍），rcv_wscale ${3} 對應 tcp_rmem[2] ${4}，window_clamp ${5}"),
	rule(`window_clamp `+num+` \(tcp_full_space `+num+` less one segment in reserve\), rcv_ssthresh `+num,
		"window_clamp ${1}（tcp_full_space ${2} 减去预留的一个段），rcv_ssthresh ${3}", "window_clamp ${1}（tcp_full_space ${2} 減去預留的一個段），rcv_ssthresh ${3}"),
	rule(`the final ACK of the handshake`, "握手的最后一个 ACK", "握手的最後一個 ACK"),
	rule(`the request sock joins the established hash as TCP_NEW_SYN_RECV; SYN-ACK timer armed for `+num+` s \(TCP_TIMEOUT_INIT\)`,
		"请求 sock 以 TCP_NEW_SYN_RECV 加入 established 哈希表；SYN-ACK 定时器设为 ${1} 秒（TCP_TIMEOUT_INIT）", "請求 sock 以 TCP_NEW_SYN_RECV 加入 established 雜湊表；SYN-ACK 計時器設為 ${1} 秒（TCP_TIMEOUT_INIT）"),
	rule(`the request sock is done: the child goes on the accept queue`, "请求 sock 完成使命：子 socket 进入 accept 队列", "請求 sock 完成使命：子 socket 進入 accept 佇列"),
	rule(`(sk[\w.]+) created in TCP_SYN_RECV for `+anyText, "${1} 以 TCP_SYN_RECV 创建，对端 ${2}", "${1} 以 TCP_SYN_RECV 建立，對端 ${2}"),
	rule(`(sk[\w.]+) waits for accept\(\)`, "${1} 等待 accept()", "${1} 等待 accept()"),
	rule(`checksum already complete: nothing to do`, "校验和已完成：无事可做", "檢查碼已完成：無事可做"),
	rule(`GSO: one `+num+`-byte skb became `+num+` segments`, "GSO：一个 ${1} 字节的 skb 变成 ${2} 个分段", "GSO：一個 ${1} 位元組的 skb 變成 ${2} 個分段"),
}

// noteIn is note in language l, and whether it is translated (English
// always is).
func noteIn(l lang, note string) (string, bool) {
	if l == langEN {
		return note, true
	}
	k := 0
	if l == langHant {
		k = 1
	}
	for _, r := range noteRules {
		if m := r.re.FindStringSubmatchIndex(note); m != nil {
			return string(r.re.ExpandString(nil, r.tr[k], note, m)), true
		}
	}
	return note, false
}
