package web

// lang is a UI language: "en", "zh-Hans" or "zh-Hant", as web/explain
// names them and as the URL's lang parameter spells them.
type lang string

const (
	langEN   lang = "en"
	langHans lang = "zh-Hans"
	langHant lang = "zh-Hant"
)

// langs are the languages offered, in the language menu's order.
var langs = []lang{langEN, langHans, langHant}

// parseLang reads the URL's lang; anything unknown is English.
func parseLang(s string) lang {
	for _, l := range langs {
		if string(l) == s {
			return l
		}
	}
	return langEN
}

// name is the language's name in itself, for the menu.
func (l lang) name() string {
	switch l {
	case langHans:
		return "简体中文"
	case langHant:
		return "繁體中文"
	}
	return "English"
}

// html is the value of the page's lang attribute.
func (l lang) html() string { return string(l) }

// t translates a UI string. The English text is the key; a string the
// catalogue lacks stays English rather than showing a key.
func (l lang) t(s string) string {
	if l == langEN {
		return s
	}
	tr, ok := catalogue[s]
	if !ok {
		return s
	}
	if l == langHant {
		return tr[1]
	}
	return tr[0]
}

// catalogue holds every UI string in simplified and traditional Chinese
// (Taiwan usage, as web/explain). Kernel identifiers stay as they are.
var catalogue = map[string][2]string{
	"NIC":                          {"网卡", "網路卡"},
	"Frames on the wire":           {"线路上的帧", "線路上的訊框"},
	"No frame has crossed a wire.": {"还没有帧经过线路。", "還沒有訊框經過線路。"},
	"frame %d of %d":               {"第 %d 帧，共 %d 帧", "第 %d 個訊框，共 %d 個"},
	"lost on the wire":             {"在线路上丢失", "在線路上遺失"},
	"No TCP socket yet.":           {"还没有 TCP socket。", "還沒有 TCP socket。"},
	"every frame on the wires, for Wireshark": {"线路上的每一帧，可用 Wireshark 打开", "線路上的每個訊框，可用 Wireshark 開啟"},
	"Download pcap":                      {"下载 pcap", "下載 pcap"},
	"Cannot show lesson %q: %v":          {"无法显示课程 %q：%v", "無法顯示課程 %q：%v"},
	"Lesson %q produced no events.":      {"课程 %q 没有产生任何事件。", "課程 %q 沒有產生任何事件。"},
	"%d breakpoints":                     {"%d 个断点", "%d 個中斷點"},
	"All lessons":                        {"全部课程", "全部課程"},
	"Call stack":                         {"调用栈", "呼叫堆疊"},
	"Chapter":                            {"章节", "章節"},
	"Controls":                           {"控制", "控制"},
	"Edit the scenario":                  {"编辑场景", "編輯場景"},
	"Event log (%d events)":              {"事件日志（%d 个事件）", "事件紀錄（%d 個事件）"},
	"Event log (%d of %d events)":        {"事件日志（%d / %d 个事件）", "事件紀錄（%d / %d 個事件）"},
	"Fullscreen":                         {"全屏", "全螢幕"},
	"Here":                               {"本帧", "本畫格"},
	"Keys":                               {"快捷键", "快速鍵"},
	"Language":                           {"语言", "語言"},
	"Lecture mode":                       {"讲课模式", "講課模式"},
	"Lesson":                             {"课程", "課程"},
	"Lessons":                            {"课程", "課程"},
	"Loading the lesson…":                {"正在加载课程…", "正在載入課程…"},
	"No skb yet at this event.":          {"此事件时还没有 skb。", "此事件時還沒有 skb。"},
	"No socket queue used yet.":          {"还没有用到 socket 队列。", "還沒有用到 socket 佇列。"},
	"Other lessons":                      {"其他课程", "其他課程"},
	"Re-run":                             {"重新运行", "重新執行"},
	"Reset":                              {"复原", "還原"},
	"Run the edited scenario":            {"运行编辑后的场景", "執行編輯後的場景"},
	"Scenario JSON":                      {"场景 JSON", "場景 JSON"},
	"Seed":                               {"种子文章", "種子文章"},
	"Simulating the lesson…":             {"正在模拟课程…", "正在模擬課程…"},
	"Sockets":                            {"Socket", "Socket"},
	"Source":                             {"源代码", "原始碼"},
	"This function":                      {"这个函数", "這個函式"},
	"What if…":                           {"如果…会怎样", "如果…會怎樣"},
	"all":                                {"全部", "全部"},
	"back":                               {"后退", "後退"},
	"break":                              {"断点", "中斷點"},
	"breakpoint on this station":         {"在此站点设断点", "在此站點設中斷點"},
	"breakpoint":                         {"断点", "中斷點"},
	"close":                              {"关闭", "關閉"},
	"context":                            {"上下文", "上下文"},
	"continue":                           {"继续", "繼續"},
	"dequeued":                           {"出队", "出佇列"},
	"drop":                               {"丢弃", "丟棄"},
	"dropped":                            {"已丢弃", "已丟棄"},
	"edited scenario":                    {"编辑后的场景", "編輯後的場景"},
	"enqueued":                           {"入队", "入佇列"},
	"event %d / %d · t = %s µs":          {"事件 %d / %d · t = %s µs", "事件 %d / %d · t = %s µs"},
	"events/s":                           {"事件/秒", "事件/秒"},
	"first / last event":                 {"第一个 / 最后一个事件", "第一個 / 最後一個事件"},
	"first event":                        {"第一个事件", "第一個事件"},
	"function / queue":                   {"函数 / 队列", "函式 / 佇列"},
	"go to this call":                    {"跳到这次调用", "跳到這次呼叫"},
	"hardware":                           {"硬件", "硬體"},
	"host":                               {"主机", "主機"},
	"into":                               {"步入", "步入"},
	"kind":                               {"类型", "類型"},
	"last event":                         {"最后一个事件", "最後一個事件"},
	"layer":                              {"层", "層"},
	"lesson's":                           {"课程默认", "課程預設"},
	"next frame on the wire":             {"线路上的下一帧", "線路上的下一個訊框"},
	"next":                               {"下一步", "下一步"},
	"out":                                {"步出", "步出"},
	"over":                               {"步过", "步過"},
	"pause":                              {"暂停", "暫停"},
	"play / pause":                       {"播放 / 暂停", "播放 / 暫停"},
	"play":                               {"播放", "播放"},
	"previous / next chapter":            {"上一章 / 下一章", "上一章 / 下一章"},
	"process (task)":                     {"进程 (task)", "行程 (task)"},
	"projector theme (L)":                {"投影主题 (L)", "投影主題 (L)"},
	"qlen":                               {"队列长度", "佇列長度"},
	"queue":                              {"队列", "佇列"},
	"ret / note":                         {"返回值 / 说明", "傳回值 / 說明"},
	"run to the next breakpoint":         {"运行到下一个断点", "執行到下一個中斷點"},
	"socket":                             {"socket", "socket"},
	"step back":                          {"后退一步", "後退一步"},
	"step forward":                       {"前进一步", "前進一步"},
	"step into":                          {"步入（进入调用）", "步入（進入呼叫）"},
	"step out":                           {"步出（到本函数返回）", "步出（到本函式傳回）"},
	"step over":                          {"步过（跳过调用内部）", "步過（略過呼叫內部）"},
	"this help":                          {"本说明", "本說明"},
	"timeline":                           {"时间线", "時間軸"},
	"timer":                              {"定时器", "計時器"},
	"what Linux 6.12 does with a packet": {"Linux 6.12 如何处理一个数据包", "Linux 6.12 如何處理一個封包"},
	"wire":                               {"线路", "線路"},
	"MTU":                                {"MTU", "MTU"},
	"link rate":                          {"链路速率", "鏈結速率"},
	"link delay":                         {"链路延迟", "鏈結延遲"},
	"loss":                               {"丢包率", "丟包率"},
	"txqueuelen":                         {"txqueuelen", "txqueuelen"},
	"SO_SNDBUF":                          {"SO_SNDBUF", "SO_SNDBUF"},
	"SO_RCVBUF":                          {"SO_RCVBUF", "SO_RCVBUF"},
	"Event %d of %d, host %s, %s: %s.":   {"事件 %d / %d，主机 %s，%s：%s。", "事件 %d / %d，主機 %s，%s：%s。"},
	"oops":                               {"oops", "oops"},
	"Click a station on the map to set or clear a breakpoint.": {"点击地图上的站点可设置或清除断点。", "點擊地圖上的站點可設定或清除中斷點。"},
	"hardware: no CPU is running kernel code for this event":   {"硬件：此事件没有 CPU 在运行内核代码", "硬體：此事件沒有 CPU 在執行核心程式碼"},
	"stack map: click a station to set a breakpoint":           {"协议栈地图：点击站点设置断点", "協定堆疊地圖：點擊站點設定中斷點"},

	// The explanations the page fetches (loadText).
	"Loading the explanation…":                   {"正在加载说明…", "正在載入說明…"},
	"The explanations could not be loaded (%v).": {"无法加载说明（%v）。", "無法載入說明（%v）。"},
}
