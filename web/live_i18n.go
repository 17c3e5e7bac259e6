package web

// The Live panel's strings, merged into the catalogue (kept apart so that
// the panel's text travels with it).
func init() {
	for en, tr := range liveCatalogue {
		catalogue[en] = tr
	}
}

var liveCatalogue = map[string][2]string{
	"Live: bridge to a real network":             {"实时：桥接到真实网络", "即時：橋接到真實網路"},
	"Live: waiting for the first event…":         {"实时：等待第一个事件…", "即時：等待第一個事件…"},
	"The run ended before its replay was taken.": {"运行在取得回放之前就结束了。", "執行在取得重播之前就結束了。"},
	"%d bytes received":                          {"收到 %d 字节", "收到 %d 位元組"},
	"%d reconnections":                           {"已重连 %d 次", "已重新連線 %d 次"},
	"Connect":                                    {"连接", "連線"},
	"Disconnect":                                 {"断开", "中斷連線"},
	"Download replay":                            {"下载回放", "下載重播"},
	"The bridge needs its token (serve -tap prints it).": {"网桥需要令牌（serve -tap 启动时会打印）。", "網橋需要權杖（serve -tap 啟動時會印出）。"},
	"The simulated host's eth0 is cabled over a WebSocket to `serve -tap` and a real kernel on its TAP. The simulation runs on the wall clock; frames from outside are recorded, so the run can be replayed.": {
		"模拟主机的 eth0 经 WebSocket 连到 `serve -tap`，再连到其 TAP 上的真实内核。模拟按真实时间运行；来自外部的帧会被记录，因此这次运行可以回放。",
		"模擬主機的 eth0 經 WebSocket 連到 `serve -tap`，再連到其 TAP 上的真實核心。模擬按真實時間執行；來自外部的訊框會被記錄，因此這次執行可以重播。"},
	"UDP data":              {"UDP 数据", "UDP 資料"},
	"connected to %s as %s": {"已连接 %s，MAC 为 %s", "已連線 %s，MAC 為 %s"},
	"connecting…":           {"正在连接…", "正在連線…"},
	"connection lost (%s): reconnecting in %.1f s": {"连接断开（%s）：%.1f 秒后重连", "連線中斷（%s）：%.1f 秒後重新連線"},
	"echo reply from %s: icmp_seq=%d, %d bytes":    {"来自 %s 的回显应答：icmp_seq=%d，%d 字节", "來自 %s 的回應應答：icmp_seq=%d，%d 位元組"},
	"follow the live end":                          {"跟随最新事件", "跟隨最新事件"},
	"port":                                         {"端口", "連接埠"},
	"started":                                      {"已启动", "已啟動"},
	"the frames on the bridged cable, for Wireshark":    {"桥接线路上的帧，供 Wireshark 使用", "橋接線路上的訊框，供 Wireshark 使用"},
	"this run as a scenario: replays without a network": {"把这次运行存为场景：无需网络即可回放", "把這次執行存為情境：無需網路即可重播"},
	"to":                          {"目标", "目標"},
	"waiting for the answer…":     {"等待应答…", "等待應答…"},
	"waiting for the echo reply…": {"等待回显应答…", "等待回應應答…"},
	"Ping":                        {"Ping", "Ping"},
	"Send UDP":                    {"发送 UDP", "傳送 UDP"},
	"TCP connect":                 {"TCP 连接", "TCP 連線"},
	"HTTP GET /":                  {"HTTP GET /", "HTTP GET /"},
	"bridge":                      {"网桥", "網橋"},
	"token":                       {"令牌", "權杖"},
	"address":                     {"地址", "位址"},
}
