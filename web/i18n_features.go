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
}

func init() {
	for k, v := range featureCatalogue {
		if _, dup := catalogue[k]; !dup {
			catalogue[k] = v
		}
	}
}
