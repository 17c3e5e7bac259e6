package web

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
)

// TestLayersZoom: the layers-only map has one station per layer and host
// (and the wires), in the textbook's order, and every event of the trace
// sits in the layer of its function's lane.
func TestLayersZoom(t *testing.T) {
	tr, err := scenario.Run("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	fm := NewModel(tr)
	lm := fm.layerView()
	if lm == fm || lm.layerView() != lm || fm.layerView() != lm {
		t.Fatal("the layers view is not one model of its own")
	}
	var lanes []string
	for _, l := range lm.Lanes {
		lanes = append(lanes, l.name)
	}
	if got := strings.Join(lanes, " "); got != "socket tcp/udp ip netfilter neigh dev/qdisc driver nic" {
		t.Errorf("layers %q", got)
	}
	seen := map[string]bool{}
	for _, st := range lm.Stations {
		if st.kind == stWire {
			continue
		}
		k := lm.Hosts[st.host].name + " " + lm.Lanes[st.lane].name
		if seen[k] {
			t.Errorf("two stations for %s", k)
		}
		seen[k] = true
		if st.label != layerTitle(lm.Lanes[st.lane].name) {
			t.Errorf("station %q in layer %s", st.label, lm.Lanes[st.lane].name)
		}
	}
	if len(lm.Stations) >= len(fm.Stations)/4 {
		t.Errorf("%d layer stations for %d function stations", len(lm.Stations), len(fm.Stations))
	}
	for i := range tr.Events {
		e := &tr.Events[i]
		fl, ll := fm.laneOf(i), lm.Lanes[max(lm.Stations[lm.evStation[i]].lane, 0)].name
		if e.Fn != "" && !passThrough[fl] && layerGroup[fl] != ll {
			t.Errorf("event %d (%s in lane %s) is in layer %s", i, e.Fn, fl, ll)
		}
	}
	var d cmdBuf
	lm.Draw(&d, Frame{From: 10, To: 11, P: 0.5})
	if len(d.b) == 0 {
		t.Error("nothing drawn")
	}
	html := app.HTMLString(&stationList{M: lm, Zoom: zoomLayers})
	if !strings.Contains(html, `data-zoom="layers"`) || !strings.Contains(html, "A tcp/udp: tcp · udp · icmp") {
		t.Errorf("station list: %s", html)
	}
	if v := parseView(map[string][]string{"zoom": {"layers"}}); v.Zoom != zoomLayers || !strings.Contains(v.query(), "zoom=layers") {
		t.Errorf("zoom in the URL: %+v", v)
	}
	if v := parseView(map[string][]string{"zoom": {"huge"}}); v.Zoom != "" {
		t.Errorf("unknown zoom read as %q", v.Zoom)
	}
}
