package web

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"skbscope/scenario"
)

// view is everything the URL holds, so that a link reopens the same
// frame: lesson, what-if knobs, cursor, language, and how the page is
// shown (embedded with chosen panels, lecture theme).
type view struct {
	Lesson  string
	Knobs   scenario.Knobs
	C       int
	Lang    lang
	Embed   bool
	Panels  []string // embed mode: the panels shown; empty means all
	Lecture bool
	Page    string // "" the scope, "lessons" the lessons page
	Zoom    string // the stack map's zoom: "" every function, zoomLayers
}

// Knob parameters in the URL, in the units a learner thinks in.
const (
	qMTU    = "mtu"
	qRate   = "rate"   // bit/s
	qDelay  = "delay"  // ns
	qLoss   = "loss"   // %
	qTxQLen = "txqlen" // packets
	qSndBuf = "sndbuf" // bytes
	qRcvBuf = "rcvbuf" // bytes
	qQdisc  = "qdisc"  // root qdisc kind, as `tc qdisc replace`
	qModel  = "nic"    // NIC model: e1000e, cs89x0, dm9000
)

// parseView reads a URL's query. Unparsable numbers count as zero (keep
// the lesson's value); the knobs' ranges are checked when the lesson runs.
func parseView(q url.Values) view {
	num := func(k string) int64 { v, _ := strconv.ParseInt(q.Get(k), 10, 64); return v }
	loss, _ := strconv.ParseFloat(q.Get(qLoss), 64)
	v := view{
		Lesson: q.Get("lesson"),
		C:      int(num("c")),
		Lang:   parseLang(q.Get("lang")),
		Knobs: scenario.Knobs{
			MTU: int(num(qMTU)), RateBps: num(qRate), DelayNs: num(qDelay), LossPct: loss,
			TxQueueLen: int(num(qTxQLen)), SndBuf: int(num(qSndBuf)), RcvBuf: int(num(qRcvBuf)),
			Qdisc: q.Get(qQdisc), Model: q.Get(qModel),
		},
		Embed:   q.Get("embed") == "1",
		Lecture: q.Get("lecture") == "1",
		Page:    q.Get("page"),
	}
	if q.Get("zoom") == zoomLayers {
		v.Zoom = zoomLayers
	}
	parseStateKnobs(q, &v.Knobs)
	if p := q.Get("panels"); p != "" {
		v.Panels = strings.Split(p, ",")
	}
	return v
}

// query writes v back as a query string, leaving out what is default.
func (v view) query() string {
	q := url.Values{}
	set := func(k string, n int64) {
		if n != 0 {
			q.Set(k, strconv.FormatInt(n, 10))
		}
	}
	if v.Page != "" {
		q.Set("page", v.Page)
	}
	if v.Lesson != "" {
		q.Set("lesson", v.Lesson)
	}
	if v.Page == "" {
		q.Set("c", strconv.Itoa(v.C))
	}
	set(qMTU, int64(v.Knobs.MTU))
	set(qRate, v.Knobs.RateBps)
	set(qDelay, v.Knobs.DelayNs)
	if v.Knobs.LossPct != 0 {
		q.Set(qLoss, strconv.FormatFloat(v.Knobs.LossPct, 'g', -1, 64))
	}
	set(qTxQLen, int64(v.Knobs.TxQueueLen))
	set(qSndBuf, int64(v.Knobs.SndBuf))
	set(qRcvBuf, int64(v.Knobs.RcvBuf))
	if v.Knobs.Qdisc != "" {
		q.Set(qQdisc, v.Knobs.Qdisc)
	}
	if v.Knobs.Model != "" {
		q.Set(qModel, v.Knobs.Model)
	}
	writeStateKnobs(q, v.Knobs)
	if v.Lang != langEN && v.Lang != "" {
		q.Set("lang", string(v.Lang))
	}
	if v.Embed {
		q.Set("embed", "1")
	}
	if len(v.Panels) > 0 {
		q.Set("panels", strings.Join(v.Panels, ","))
	}
	if v.Lecture {
		q.Set("lecture", "1")
	}
	if v.Zoom != "" {
		q.Set("zoom", v.Zoom)
	}
	return q.Encode()
}

// href is a link to v relative to the page, so that it works wherever
// the site is hosted (the static export may live under any prefix).
func (v view) href() string { return "./?" + v.query() }

// shows reports whether panel p is on: everything outside embed mode,
// only the listed panels inside it.
func (v view) shows(p string) bool {
	if !v.Embed || len(v.Panels) == 0 {
		return true
	}
	for _, x := range v.Panels {
		if x == p {
			return true
		}
	}
	return false
}

// runKey is what a trace depends on: loading another cursor or language
// must not re-run the simulation.
type runKey struct {
	Lesson string
	Knobs  scenario.Knobs
}

// same reports whether k and o run the same simulation (Knobs holds
// slices, so == cannot say).
func (k runKey) same(o runKey) bool { return reflect.DeepEqual(k, o) }
