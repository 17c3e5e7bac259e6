package web

// featureCatalogue holds the UI strings of the state knobs, the TCP
// state diagram, the map's zoom and the event sentences. It is kept apart
// from catalogue's literal so that features can add strings without
// touching one shared block; init merges it in, and a test checks that
// no key is given twice.
var featureCatalogue = map[string][2]string{
	// state knobs
	"Offloads":          {"卸载", "卸載"},
	"Netfilter rules":   {"Netfilter 规则", "Netfilter 規則"},
	"Device state":      {"设备状态", "裝置狀態"},
	"the lesson's rule": {"课程自带的规则", "課程內建的規則"},
	"added":             {"新增", "新增"},
	"add a rule":        {"添加规则", "新增規則"},
	"chain":             {"链", "鏈"},
	"protocol":          {"协议", "協定"},
	"any protocol":      {"任意协议", "任意協定"},
	"no new rule":       {"不加规则", "不加規則"},
	"verdict":           {"判决", "判決"},
	"no change":         {"不改变", "不改變"},
	"state":             {"状态", "狀態"},
	"at":                {"时刻", "時刻"},
	"tso: TCP segmentation offload; gso: generic segmentation offload; tx: transmit checksum offload.": {
		"tso：TCP 分段卸载；gso：通用分段卸载；tx：发送校验和卸载。",
		"tso：TCP 分段卸載；gso：通用分段卸載；tx：傳送檢查碼卸載。"},
	// TCP state diagram
	"TCP state":                  {"TCP 状态", "TCP 狀態"},
	"follow the cursor":          {"跟随当前事件", "跟隨目前事件"},
	"%s on %s: %s":               {"%s（主机 %s）：%s", "%s（主機 %s）：%s"},
	"last change at event %d":    {"上次变化在事件 %d", "上次變化在事件 %d"},
	"changes at this event (%d)": {"在本事件（%d）变化", "在本事件（%d）變化"},
	// the map's zoom
	"Layers only":                        {"只看层次", "只看層次"},
	"Every function":                     {"每个函数", "每個函式"},
	"zoom: layers only / every function": {"缩放：只看层次 / 每个函数", "縮放：只看層次 / 每個函式"},
	// event sentences (describeIn)
	"calls %s()":             {"调用 %s()", "呼叫 %s()"},
	"%s() returns":           {"%s() 返回", "%s() 傳回"},
	"%s() returns %s":        {"%s() 返回 %s", "%s() 傳回 %s"},
	"%s joins %s (qlen %d)":  {"%s 进入 %s（队列长度 %d）", "%s 進入 %s（佇列長度 %d）"},
	"%s leaves %s (qlen %d)": {"%s 离开 %s（队列长度 %d）", "%s 離開 %s（佇列長度 %d）"},
	"%s dropped %s":          {"%s 被丢弃：%s", "%s 被丟棄：%s"},
	"%s freed":               {"%s 被释放", "%s 被釋放"},
	"%s allocated":           {"%s 被分配", "%s 被配置"},
	"%s cloned":              {"%s 被克隆", "%s 被複製"},
	"the wire":               {"线路", "線路"},
	"%d-byte frame on %s":    {"%d 字节的帧经过 %s", "%d 位元組的訊框經過 %s"},
	"state change":           {"状态变化", "狀態變化"},
	"timer fires":            {"定时器到期", "計時器到期"},
	"(gone)":                 {"（已不存在）", "（已不存在）"},
	"(as of event %d)":       {"（事件 %d 时的样子）", "（事件 %d 時的樣子）"},
	"interrupt raised":       {"触发中断", "觸發中斷"},
	"BUG(): the kernel oopses, then panics; this host runs nothing more": {
		"BUG()：内核 oops，随后 panic；这台主机不再运行任何东西",
		"BUG()：核心 oops，隨後 panic；這台主機不再執行任何東西"},
}

func init() {
	for k, v := range featureCatalogue {
		if _, dup := catalogue[k]; !dup {
			catalogue[k] = v
		}
	}
}
