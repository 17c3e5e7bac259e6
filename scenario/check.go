package scenario

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"skbscope/stack/header"
	"skbscope/stack/ipv4"
	"skbscope/stack/kernel"
	"skbscope/stack/netfilter"
	"skbscope/stack/socket"
)

// positions maps each value's JSON path ("hosts[0].nics[1].addr") to
// the byte offset where it starts, so that errors found after decoding
// can still name a line and column.
type positions struct {
	data []byte
	at   map[string]int64
}

// newPositions walks the document's tokens once. It is only called on a
// document that decoded, so the tokens are well formed.
func newPositions(data []byte) positions {
	p := positions{data: data, at: map[string]int64{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for i, f := range stack {
			switch {
			case f.object && i > 0:
				b.WriteString("." + f.key)
			case f.object:
				b.WriteString(f.key)
			default:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return b.String()
	}
	next := func() { // a value ended: on to the next key or element
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return p
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			next()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			stack[n-1].key, stack[n-1].wantKey = tok.(string), false
			continue
		}
		p.at[path()] = skipSeparators(data, off)
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			continue
		}
		next()
	}
}

func skipSeparators(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n:,", data[off]) >= 0 {
		off++
	}
	return off
}

// where names the line and column of path, or of its nearest parent that
// appears in the file (a missing field is reported where its object is).
func (p positions) where(path string) string {
	for {
		if off, ok := p.at[path]; ok {
			return where(p.data, off)
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return where(p.data, 0)
		}
		path = path[:i]
	}
}

// problems collects errors, each placed at the value it is about.
type problems struct {
	pos  positions
	errs []string
}

func (ps *problems) add(path, format string, a ...any) {
	at := ""
	if ps.pos.data != nil { // not checking a file (Runner.AddProgram)
		at = ps.pos.where(path) + ": "
	}
	ps.errs = append(ps.errs, at+path+": "+fmt.Sprintf(format, a...))
}

func (ps *problems) err() error {
	if len(ps.errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(ps.errs, "\n"))
}

// check validates what decoding cannot: names, addresses, references
// between hosts, NICs and links, and each step's arguments.
func (f *File) check(pos positions) error {
	ps := &problems{pos: pos}
	if f.Version != Version {
		ps.add("version", "version %d: this skbscope reads version %d", f.Version, Version)
	}
	nics := map[string]bool{}
	serial := map[string]bool{} // NICs that are PPP units on a serial line
	e1000e := map[string]bool{} // NICs whose driver watches the link
	hosts := map[string]bool{}
	for hi, h := range f.Hosts {
		hp := fmt.Sprintf("hosts[%d]", hi)
		if h.Name == "" || strings.ContainsAny(h.Name, ". ") || hosts[h.Name] {
			ps.add(hp+".name", "host name %q: required, unique, without dots or spaces", h.Name)
		}
		hosts[h.Name] = true
		devs := map[string]bool{}
		for ni, n := range h.NICs {
			np := fmt.Sprintf("%s.nics[%d]", hp, ni)
			if n.Name == "" || n.Name == "lo" || devs[n.Name] {
				ps.add(np+".name", "NIC name %q: required, unique, and not lo (every host has lo)", n.Name)
			}
			devs[n.Name] = true
			nics[h.Name+"."+n.Name] = true
			model := n.Model
			if model == "" {
				model = "e1000e"
			}
			serial[h.Name+"."+n.Name] = model == "ppp"
			e1000e[h.Name+"."+n.Name] = model == "e1000e"
			if !knownModel(model) {
				ps.add(np+".model", "NIC model %q is not modelled (e1000e, cs89x0, dm9000 or ppp)", n.Model)
			} else if n.Driver != "" && n.Driver != model {
				ps.add(np+".driver", "driver %q does not drive a %s NIC (%s does)", n.Driver, model, model)
			}
			checkQdisc(ps, np+".qdisc", n.Qdisc)
			if model == "ppp" && n.MAC == "" {
				// a PPP unit has no hardware address (addr_len 0)
			} else if _, err := header.ParseMAC(n.MAC); err != nil {
				ps.add(np+".mac", "%v", err)
			}
			if a, err := netip.ParsePrefix(n.Addr); err != nil || !a.Addr().Is4() {
				ps.add(np+".addr", "%q is not an IPv4 prefix like 192.0.2.1/24", n.Addr)
			}
			if n.MTU != 0 && (n.MTU < 68 || n.MTU > 9000) {
				ps.add(np+".mtu", "mtu %d outside 68..9000", n.MTU)
			}
			if n.TxQueueLen < 0 || n.TxQueueLen > 100000 {
				ps.add(np+".txqueuelen", "%d outside 0..100000", n.TxQueueLen)
			}
			if n.NeededHeadroom < 0 || n.NeededHeadroom > 256 {
				ps.add(np+".needed_headroom", "%d outside 0..256", n.NeededHeadroom)
			}
			if o := n.Offloads; o != nil && model != "e1000e" {
				for _, f := range []struct {
					name string
					on   *bool
				}{{"sg", o.SG}, {"tso", o.TSO}, {"tx_csum", o.TxCsum}, {"rx_csum", o.RxCsum}} {
					if f.on != nil && *f.on {
						ps.add(np+".offloads."+f.name, "%s has no %s to turn on (ethtool: Could not change any device features)", model, f.name)
					}
				}
			}
		}
		for i, nb := range h.Neighbours {
			p := fmt.Sprintf("%s.neighbours[%d]", hp, i)
			if !devs[nb.Dev] {
				ps.add(p+".dev", "no NIC %q on %s", nb.Dev, h.Name)
			} else if serial[h.Name+"."+nb.Dev] {
				ps.add(p+".dev", "%s is a ppp NIC: it has no link-layer addresses, and no neighbour entries to give", nb.Dev)
			}
			if a, err := netip.ParseAddr(nb.Addr); err != nil || !a.Is4() {
				ps.add(p+".addr", "%q is not an IPv4 address", nb.Addr)
			}
			if _, err := header.ParseMAC(nb.LLAddr); err != nil {
				ps.add(p+".lladdr", "%v", err)
			}
		}
		for key, v := range h.Sysctls {
			if _, ok := defaultSysctls[key]; !ok {
				ps.add(hp+".sysctls."+key, "not a sysctl this model has (net.core.{wmem,rmem}_{default,max}, net.ipv4.ip_forward)")
			} else if key == "net.ipv4.ip_forward" {
				if v != 0 && v != 1 {
					ps.add(hp+".sysctls."+key, "%d: 0 or 1", v)
				}
			} else if v < 2304 || v > 1<<30 {
				ps.add(hp+".sysctls."+key, "%d outside 2304..1073741824", v)
			}
		}
		for i, r := range h.Routes {
			rp := fmt.Sprintf("%s.routes[%d]", hp, i)
			if p, err := netip.ParsePrefix(r.Dst); err != nil || !p.Addr().Is4() {
				ps.add(rp+".dst", "%q is not an IPv4 prefix", r.Dst)
			}
			gw, err := netip.ParseAddr(r.Via)
			if err != nil || !gw.Is4() {
				ps.add(rp+".via", "%q is not an IPv4 address", r.Via)
				continue
			}
			onLink := false
			for _, n := range h.NICs {
				if p, err := netip.ParsePrefix(n.Addr); err == nil && p.Contains(gw) {
					onLink = true
				}
			}
			if !onLink {
				ps.add(rp+".via", "%s is on none of %s's NIC prefixes (Nexthop has invalid gateway)", r.Via, h.Name)
			}
		}
		for i, r := range h.Netfilter {
			rp := fmt.Sprintf("%s.netfilter[%d]", hp, i)
			if _, ok := netfilter.HookByChain(r.Chain); !ok {
				ps.add(rp+".chain", "%q: prerouting, input, forward, output or postrouting", r.Chain)
			}
			if _, ok := nfProtos[r.Proto]; !ok {
				ps.add(rp+".proto", "%q: tcp, udp, icmp or empty", r.Proto)
			}
			for _, a := range []struct{ field, v string }{{"saddr", r.Saddr}, {"daddr", r.Daddr}} {
				if pf, err := netip.ParsePrefix(a.v); a.v != "" && (err != nil || !pf.Addr().Is4()) {
					ps.add(rp+"."+a.field, "%q is not an IPv4 prefix", a.v)
				}
			}
			if r.Sport < 0 || r.Sport > 65535 || r.Dport < 0 || r.Dport > 65535 {
				ps.add(rp, "ports outside 0..65535")
			}
			if r.Verdict != "accept" && r.Verdict != "drop" {
				ps.add(rp+".verdict", "%q: accept or drop", r.Verdict)
			}
		}
		if b := h.BugOn; b != nil {
			if _, ok := kernel.BugSites[b.Fn]; !ok {
				ps.add(hp+".bug_on.fn", "%q: BUG() can be injected into %s", b.Fn, strings.Join(bugSites(), ", "))
			}
		}
		if h.TCPCongestion != "" && h.TCPCongestion != "cubic" && h.TCPCongestion != "reno" {
			ps.add(hp+".tcp_congestion_control", "%q: cubic or reno", h.TCPCongestion)
		}
		for i, tp := range h.Taps {
			if !devs[tp.Dev] && tp.Dev != "any" && tp.Dev != "lo" {
				ps.add(fmt.Sprintf("%s.taps[%d].dev", hp, i), "no NIC %q on %s (nor lo or any)", tp.Dev, h.Name)
			}
		}
		for pi, p := range h.Programs {
			pp := fmt.Sprintf("%s.programs[%d]", hp, pi)
			if p.AtNs < 0 {
				ps.add(pp+".at_ns", "must not be negative")
			}
			for si, s := range p.Steps {
				checkStep(ps, fmt.Sprintf("%s.steps[%d]", pp, si), s)
				if s.Op == "link" && !devs[s.Dev] && s.Dev != "lo" {
					ps.add(fmt.Sprintf("%s.steps[%d].dev", pp, si), "no NIC %q on %s (nor lo)", s.Dev, h.Name)
				}
			}
		}
	}
	bridges := 0
	for i, l := range f.Links {
		lp := fmt.Sprintf("links[%d]", i)
		if l.B == BridgeEnd {
			if bridges++; bridges > 1 {
				ps.add(lp+".b", "only one link may lead to the bridge")
			}
		}
		for _, end := range []struct{ field, nic string }{{"a", l.A}, {"b", l.B}} {
			if end.field == "b" && end.nic == BridgeEnd {
				continue
			}
			if !nics[end.nic] {
				ps.add(lp+"."+end.field, "no NIC %q", end.nic)
			}
		}
		if serial[l.A] != serial[l.B] || l.B == BridgeEnd && serial[l.A] {
			ps.add(lp, "a serial line joins two ppp NICs, a cable two Ethernet NICs")
		}
		if l.RateBps <= 0 {
			ps.add(lp+".rate_bps", "must be positive")
		}
		if l.DelayNs < 0 {
			ps.add(lp+".delay_ns", "must not be negative")
		}
		switch {
		case l.DownAtNs == 0 && l.UpAtNs != 0:
			ps.add(lp+".up_at_ns", "up_at_ns mends a cable that down_at_ns cut: give down_at_ns too")
		case l.DownAtNs < 0:
			ps.add(lp+".down_at_ns", "must not be negative")
		case l.DownAtNs > 0 && (!e1000e[l.A] || !e1000e[l.B]):
			ps.add(lp+".down_at_ns", "a cable cut needs e1000e NICs at both ends (the other drivers do not watch the link)")
		case l.UpAtNs != 0 && l.UpAtNs <= l.DownAtNs:
			ps.add(lp+".up_at_ns", "must come after down_at_ns")
		}
		for _, pct := range []struct {
			field string
			v     float64
		}{{"loss_pct", l.LossPct}, {"reorder_pct", l.ReorderPct}, {"dup_pct", l.DupPct}} {
			if pct.v < 0 || pct.v > 100 {
				ps.add(lp+"."+pct.field, "%g outside 0..100", pct.v)
			}
		}
	}
	for i, in := range f.Inject {
		ip := fmt.Sprintf("inject[%d]", i)
		if in.To == BridgeEnd && bridges == 0 {
			ps.add(ip+".to", "no link leads to the bridge")
		} else if !nics[in.To] && in.To != BridgeEnd {
			ps.add(ip+".to", "no NIC %q", in.To)
		}
		if b, err := hex.DecodeString(in.Frame); err != nil || len(b) > 65536 {
			ps.add(ip+".frame", "not hex of at most 65536 bytes")
		}
		if in.AtNs < 0 {
			ps.add(ip+".at_ns", "must not be negative")
		}
	}
	return ps.err()
}

// Models are the NIC models a scenario may choose, by driver name.
var Models = []string{"e1000e", "cs89x0", "dm9000", "ppp"}

func knownModel(m string) bool {
	for _, x := range Models {
		if x == m {
			return true
		}
	}
	return false
}

// nfProtos are the protocols a netfilter rule may match.
var nfProtos = map[string]uint8{"": 0, "tcp": header.ProtoTCP, "udp": header.ProtoUDP, "icmp": header.ProtoICMP}

// sockopts are the SOL_SOCKET options a step may set.
var sockopts = map[string][2]int{
	"SO_SNDBUF":   {socket.SOLSocket, socket.SOSndBuf},
	"SO_RCVBUF":   {socket.SOLSocket, socket.SORcvBuf},
	"SO_PRIORITY": {socket.SOLSocket, socket.SOPriority},
	"TCP_NODELAY": {6, 1}, // IPPROTO_TCP, TCP_NODELAY
	// SOL_IP, IP_MTU_DISCOVER: 0 DONT, 1 WANT (the default), 2 DO, 3 PROBE
	"IP_MTU_DISCOVER": {ipv4.SolIP, ipv4.IPMTUDiscover},
}

// msgFlags are the send flags a step may use.
var msgFlags = map[string]int{"MSG_MORE": socket.MsgMore, "MSG_DONTWAIT": socket.MsgDontwait}

// shutHow are shutdown's how values.
var shutHow = map[string]int{"SHUT_RD": socket.ShutRd, "SHUT_WR": socket.ShutWr, "SHUT_RDWR": socket.ShutRdwr}

func checkStep(ps *problems, p string, s Step) {
	for i, fl := range s.Flags {
		if _, ok := msgFlags[fl]; !ok {
			ps.add(fmt.Sprintf("%s.flags[%d]", p, i), "%q: MSG_MORE or MSG_DONTWAIT", fl)
		}
	}
	switch s.Op {
	case "socket":
		if s.Type != "udp" && s.Type != "tcp" && s.Type != "icmp" {
			ps.add(p+".type", "socket type %q is not modelled (udp, tcp and icmp are)", s.Type)
		}
	case "connect":
		if _, err := netip.ParseAddrPort(s.To); err != nil {
			ps.add(p+".to", "%v", err)
		}
	case "listen":
		if s.Count < 0 || s.Count > socket.Somaxconn {
			ps.add(p+".count", "backlog %d outside 0..%d", s.Count, socket.Somaxconn)
		}
	case "accept":
		if s.As == "" {
			ps.add(p+".as", "accept needs a name for the new socket")
		}
	case "send":
		if s.Count < 0 || s.Count > 100000 {
			ps.add(p+".count", "%d outside 0..100000", s.Count)
		}
		if s.Size < 0 || s.Size > 16<<20 {
			ps.add(p+".size", "%d outside 0..16 MiB", s.Size)
		}
	case "recv", "drain":
		if s.Size < 0 || s.Size > 1<<20 {
			ps.add(p+".size", "%d outside 0..1048576", s.Size)
		}
	case "close":
	case "sleep":
		if s.Ns <= 0 || s.Ns > 3_600_000_000_000 {
			ps.add(p+".ns", "sleep %d ns outside 1 ns..3600 s", s.Ns)
		}
	case "ping":
		if a, err := netip.ParseAddr(s.To); err != nil || !a.Is4() {
			ps.add(p+".to", "%q is not an IPv4 address", s.To)
		}
		if s.Count < 0 || s.Count > 100 || s.Size < 0 || s.Size > 1400 || s.Ns < 0 {
			ps.add(p, "ping count 0..100, size 0..1400, ns >= 0")
		}
	case "sendto":
		if _, err := netip.ParseAddrPort(s.To); err != nil {
			ps.add(p+".to", "%v", err)
		}
		if s.Count < 0 || s.Count > 100000 {
			ps.add(p+".count", "%d outside 0..100000", s.Count)
		}
		if s.Size < 0 || s.Size > 1<<20 {
			ps.add(p+".size", "%d outside 0..1048576", s.Size)
		}
	case "setsockopt":
		if _, ok := sockopts[s.Opt]; !ok {
			ps.add(p+".opt", "%q: SO_SNDBUF, SO_RCVBUF, SO_PRIORITY, TCP_NODELAY or IP_MTU_DISCOVER", s.Opt)
		}
	case "shutdown":
		if _, ok := shutHow[s.How]; !ok {
			ps.add(p+".how", "%q: SHUT_RD, SHUT_WR or SHUT_RDWR", s.How)
		}
	case "bind":
		if _, err := netip.ParseAddrPort(s.Addr); err != nil {
			ps.add(p+".addr", "%v", err)
		}
	case "recvfrom":
		if s.Size < 0 || s.Size > 1<<20 {
			ps.add(p+".size", "%d outside 0..1048576", s.Size)
		}
	case "link":
		if s.State != "up" && s.State != "down" {
			ps.add(p+".state", "%q: up or down", s.State)
		}
	default:
		ps.add(p+".op", "unknown op %q", s.Op)
	}
}

// bugSites lists the functions bug_on accepts, sorted.
func bugSites() []string {
	var out []string
	for fn := range kernel.BugSites {
		out = append(out, fn)
	}
	slices.Sort(out)
	return out
}
