package web

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/stack/trace"
)

// The stack map has two zoom levels: every function (a station per kernel
// function and queue, the default) and layers only (a station per layer
// of the stack, so that a first look shows the packet's path as the
// textbooks draw it).

// zoomLayers is the URL's zoom value for "layers only"; "" is every
// function.
const zoomLayers = "layers"

// layerOrder is the layers-only map's top-to-bottom order.
var layerOrder = []string{"socket", "tcp/udp", "ip", "netfilter", "neigh", "dev/qdisc", "driver", "nic"}

// layerGroup puts each lane of the function map into a layer.
var layerGroup = map[string]string{
	"syscall": "socket", "socket": "socket", "sched": "socket",
	"tcp": "tcp/udp", "udp": "tcp/udp", "icmp": "tcp/udp",
	"ip": "ip", "route": "ip",
	"netfilter": "netfilter",
	"neigh":     "neigh", "arp": "neigh",
	"dev": "dev/qdisc", "qdisc": "dev/qdisc", "softirq": "dev/qdisc", "napi": "dev/qdisc",
	"irq": "driver", "driver": "driver",
	"nic": "nic",
}

// passThrough are lanes of helpers that every layer calls (skb
// allocation, pushing headers, freeing; timers): in the layers-only map
// an event there belongs to its caller's layer.
var passThrough = map[string]bool{"skb": true, "timer": true}

// layerTitles are the layer stations' labels: the function map's lanes
// each one merges, named as there (kernel vocabulary, not translated).
var layerTitles = map[string]string{
	"socket": "syscall · socket", "tcp/udp": "tcp · udp · icmp", "ip": "ip · route", "netfilter": "netfilter",
	"neigh": "neigh · arp", "dev/qdisc": "dev · qdisc · napi", "driver": "driver · irq", "nic": "nic (hw)",
}

func layerTitle(g string) string {
	if t, ok := layerTitles[g]; ok {
		return t
	}
	return g
}

// layerOf is the layer event i belongs to: that of its own or its nearest
// caller's lane, passing over helpers, else of its context. A lane no
// layer lists is a layer of its own, as on the function map.
func (m *Model) layerOf(i int) string {
	group := func(l string) string {
		if g, ok := layerGroup[l]; ok {
			return g
		}
		return l
	}
	for j := i; j >= 0; j = m.up(j) {
		if l := m.T.Events[j].Layer; l != "" && !passThrough[l] {
			return group(l)
		}
	}
	e := &m.T.Events[i]
	if e.Kind == trace.Wire {
		return "wire"
	}
	for j := i; j >= 0; j = m.up(j) {
		if l := m.T.Events[j].Layer; l != "" {
			return group(l)
		}
	}
	return group(ctxLane[ctxClass(e.Ctx)])
}

// layerView is the layers-only map of the same trace, laid out on first
// use.
func (m *Model) layerView() *Model {
	if m.layersOnly {
		return m
	}
	if m.layers == nil {
		m.layers = newModel(m.T, true)
	}
	return m.layers
}

// mapModel is the model the map shows at the view's zoom.
func (s *Scope) mapModel() *Model {
	if s.model != nil && s.v.Zoom == zoomLayers {
		return s.model.layerView()
	}
	return s.model
}

// toggleZoom switches the map between its zoom levels. Breakpoints are
// stations, which the other zoom does not have: they are cleared.
func (s *Scope) toggleZoom(ctx app.Context) {
	if s.v.Zoom == zoomLayers {
		s.v.Zoom = ""
	} else {
		s.v.Zoom = zoomLayers
	}
	s.bp = nil
	if s.anim != nil && s.model != nil {
		s.anim.jump(s.mapModel(), s.cursor, s.bp)
	}
	s.replaceURL(ctx)
}

// zoomButton switches the zoom (key z).
func zoomButton(l lang, zoom string) app.HTMLElem {
	text := l.t("Layers only")
	if zoom == zoomLayers {
		text = l.t("Every function")
	}
	return app.Elem("button").ID("zoom").Attr("data-move", "zoom").Aria("pressed", zoom == zoomLayers).
		Title(l.t("zoom: layers only / every function") + " (z)").Text("⇅ " + text)
}

// stationList names the map's stations for screen readers (and tests):
// the canvas itself is an image. It renders once per map.
type stationList struct {
	app.Compo
	M    *Model
	Zoom string
}

// Render implements app.Composer.
func (r *stationList) Render() app.UI {
	m := r.M
	items := make([]app.UI, len(m.Stations))
	for i := range m.Stations {
		st := &m.Stations[i]
		where := "wire"
		if st.lane >= 0 && st.host < len(m.Hosts) {
			where = m.Hosts[st.host].name + " " + m.Lanes[st.lane].name
		}
		items[i] = app.Elem("li").Attr("data-lane", where).Text(where + ": " + st.label)
	}
	zoom := r.Zoom
	if zoom == "" {
		zoom = "functions"
	}
	return app.Elem("ul").ID("map-stations").Class("sr-only").Attr("data-zoom", zoom).Body(items...)
}
