package scenario

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"skbscope/nicsim"
	"skbscope/nicsim/cs89x0"
	"skbscope/nicsim/dm9000"
	"skbscope/nicsim/e1000e"
	"skbscope/nicsim/loopback"
	"skbscope/nicsim/ppp"
	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/ipv4"
	"skbscope/stack/kernel"
	"skbscope/stack/netfilter"
	"skbscope/stack/packet"
	"skbscope/stack/sched"
	"skbscope/stack/socket"
	"skbscope/stack/trace"
)

// DefaultUntilNs bounds a run whose file sets no until_ns: one virtual
// second is far longer than any lesson needs.
const DefaultUntilNs = 1_000_000_000

// host is one assembled machine.
type host struct {
	k    *kernel.Kernel
	core *core.Net
	ip   *ipv4.Net
	sock *socket.Layer
	nics []nicEnd
}

// nicEnd is one NIC model as the builder needs it: the port it offers a
// link, its device, and how to plug the cable in.
type nicEnd struct {
	nicsim.Port
	dev     *core.Device
	setLink func(*nicsim.Link)
}

// newNIC instantiates the scenario's NIC model for dev.
func newNIC(k *kernel.Kernel, dev *core.Device, model string) nicEnd {
	switch model {
	case "cs89x0":
		n := cs89x0.New(k, dev)
		return nicEnd{n, dev, func(l *nicsim.Link) { n.Link = l }}
	case "dm9000":
		n := dm9000.New(k, dev)
		return nicEnd{n, dev, func(l *nicsim.Link) { n.Link = l }}
	case "ppp":
		p := ppp.Setup(k, dev)
		return nicEnd{p.Port(), dev, func(l *nicsim.Link) {
			l.BitsPerByte = ppp.BitsPerByte // an async serial line, 8N1
			p.SetLink(l)
		}}
	}
	n := e1000e.New(k, dev)
	return nicEnd{n, dev, func(l *nicsim.Link) { n.Link = l }}
}

// applyOffloads is `ethtool -K`: set or clear the features asked for,
// then netdev_fix_features' rules: TSO needs scatter-gather and a
// transmit checksum, so without either it goes too.
func applyOffloads(dev *core.Device, o *Offloads) {
	if o == nil {
		return
	}
	for _, f := range []struct {
		on   *bool
		feat core.Features
	}{{o.SG, core.FeatSG}, {o.TSO, core.FeatTSO}, {o.GSO, core.FeatGSO}, {o.TxCsum, core.FeatHWCsum}, {o.RxCsum, core.FeatRXCsum}} {
		switch {
		case f.on == nil:
		case *f.on:
			dev.Features |= f.feat
		default:
			dev.Features &^= f.feat
		}
	}
	if dev.Features&core.FeatSG == 0 || dev.Features&core.FeatHWCsum == 0 {
		dev.Features &^= core.FeatTSO
	}
}

func (h *host) nic(name string) *nicEnd {
	for i := range h.nics {
		if h.nics[i].dev.Name == name {
			return &h.nics[i]
		}
	}
	return nil
}

// Simulate builds the scenario's world, runs it and returns the trace.
func Simulate(f *File) (*trace.Trace, error) {
	r, err := NewRunner(f)
	if err != nil {
		return nil, err
	}
	for !r.Step(1 << 20) {
	}
	return r.Trace(), nil
}

// Runner is a scenario being simulated, in slices.
type Runner struct {
	received map[string][]byte // "HOST/program": bytes its recv calls returned
	sim      *kernel.Sim
	until    int64
	events   int
	done     bool
	name     string
	hosts    []trace.Host
	bridge   *nicsim.Bridge
	links    []trace.Link
	file     *File
	world    map[string]*host
	pending  []input   // the file's live inputs not applied yet, by time
	injected []Inject  // frames taken from the real network (Inject)
	added    []program // programs started live (AddProgram)
}

// input is one thing a live run did at a time: a frame from the real
// network, or a program started from outside.
type input struct {
	at    int64
	apply func()
}

// program is a live-added program and its host.
type program struct {
	host string
	p    Program
}

// NewRunner builds the scenario's world, ready to run.
func NewRunner(f *File) (*Runner, error) {
	r := &Runner{received: map[string][]byte{}, file: f}
	sim := kernel.NewSim(f.RNGSeed)
	hosts := map[string]*host{}
	var info []trace.Host
	for _, hs := range f.Hosts {
		h, hi, err := buildHost(sim, hs)
		if err != nil {
			return nil, err
		}
		hosts[hs.Name] = h
		info = append(info, hi)
	}
	for _, l := range f.Links {
		a, err := endpoint(hosts, l.A)
		if err != nil {
			return nil, fmt.Errorf("link %s: %w", l.Name, err)
		}
		if l.B == BridgeEnd {
			br := nicsim.NewBridge(a.Port)
			br.Link = nicsim.NewLink(sim, l.Name, l.RateBps, l.DelayNs, a.Port, br)
			br.Link.LossPct, br.Link.ReorderPct, br.Link.DupPct = l.LossPct, l.ReorderPct, l.DupPct
			a.setLink(br.Link)
			r.bridge = br
			continue
		}
		b, err := endpoint(hosts, l.B)
		if err != nil {
			return nil, fmt.Errorf("link %s: %w", l.Name, err)
		}
		link := nicsim.NewLink(sim, l.Name, l.RateBps, l.DelayNs, a.Port, b.Port)
		link.LossPct, link.ReorderPct, link.DupPct = l.LossPct, l.ReorderPct, l.DupPct
		a.setLink(link)
		b.setLink(link)
		if l.DownAtNs > 0 {
			sim.At(l.DownAtNs, func() { link.SetDown(true) })
		}
		if l.UpAtNs > 0 {
			sim.At(l.UpAtNs, func() { link.SetDown(false) })
		}
		if link.BitsPerByte > 0 {
			// RFC 1662 bytes on the line: the pcap writers unframe them
			r.links = append(r.links, trace.Link{Name: l.Name, LinkType: trace.LinkTypePPPHDLC})
		}
	}
	r.sim, r.world = sim, hosts
	for _, hs := range f.Hosts {
		for _, p := range hs.Programs {
			if p.Live {
				r.pending = append(r.pending, input{p.AtNs, func() { r.start(hs.Name, p) }})
				continue
			}
			r.start(hs.Name, p)
		}
	}
	for _, in := range f.Inject {
		frame, _ := hex.DecodeString(in.Frame) // checked by Parse
		if in.To == BridgeEnd {
			r.pending = append(r.pending, input{in.AtNs, func() { r.bridge.Inject(frame) }})
			continue
		}
		nic, err := endpoint(hosts, in.To)
		if err != nil {
			return nil, fmt.Errorf("inject: %w", err)
		}
		sim.At(in.AtNs, func() { nic.Arrive(frame) })
	}
	// At one time a live run takes frames before it starts programs (see
	// Inject); the sort keeps each kind's own order.
	slices.SortStableFunc(r.pending, func(a, b input) int { return cmp.Compare(a.at, b.at) })
	until := f.UntilNs
	if until == 0 {
		until = DefaultUntilNs
	}
	r.until, r.name, r.hosts = until, f.Name, info
	return r, nil
}

// start schedules a program on host h at its time.
func (r *Runner) start(h string, p Program) {
	schedule(r.world[h], p, func(b []byte) {
		key := h + "/" + p.Name
		r.received[key] = append(r.received[key], b...)
	})
}

// maxEvents bounds a whole run, so that no scenario can run forever.
const maxEvents = 5_000_000

// Step runs up to n more simulation events and reports whether the run
// is over.
func (r *Runner) Step(n int) bool {
	if r.done {
		return true
	}
	idle := r.runTo(r.until, min(n, maxEvents-r.events))
	r.done = idle || r.events >= maxEvents
	return r.done
}

// runTo runs at most n events due by t, applying the file's live inputs
// when their time comes: after every event due by then, as a live run
// applied them. It reports whether nothing is left to do by t.
func (r *Runner) runTo(t int64, n int) bool {
	for {
		lim, next := t, len(r.pending) > 0 && r.pending[0].at <= t
		if next {
			lim = r.pending[0].at
		}
		before := r.sim.Executed
		idle := r.sim.Step(lim, n)
		ran := r.sim.Executed - before
		r.events += ran
		n -= ran
		if !idle {
			return false
		}
		if !next {
			return true
		}
		r.sim.AdvanceTo(lim)
		in := r.pending[0]
		r.pending = r.pending[1:]
		in.apply()
	}
}

// Bridge is the outside end of the scenario's link to the bridge, or nil.
// Feed it frames from the real network between steps and forward its
// outbox.
func (r *Runner) Bridge() *nicsim.Bridge { return r.bridge }

// AdvanceTo runs every event due by virtual time t (or the run's end) and
// moves the clock to t, so that a frame injected next arrives then: how a
// live run keeps pace with the wall clock. It reports whether the run is
// over.
func (r *Runner) AdvanceTo(t int64) bool {
	t = min(t, r.until)
	for !r.done && !r.runTo(t, min(1<<16, maxEvents-r.events)) {
		if r.events >= maxEvents {
			r.done = true
		}
	}
	r.sim.AdvanceTo(t)
	if t >= r.until {
		r.done = true
	}
	return r.done
}

// Inject puts a frame from the real network on the bridge cable now,
// once everything due by now has run, and records it for Replay. A
// program started at this very nanosecond came first, so the frame
// waits a nanosecond: a replay applies frames before programs.
func (r *Runner) Inject(frame []byte) error {
	if r.bridge == nil {
		return errors.New("the scenario has no link to the bridge")
	}
	if len(frame) < header.EthernetLen {
		return r.bridge.Inject(frame) // refused, and never seen
	}
	now := r.Now()
	if n := len(r.added); n > 0 && r.added[n-1].p.AtNs == now {
		now++
	}
	r.AdvanceTo(now)
	r.injected = append(r.injected, Inject{AtNs: r.Now(), To: BridgeEnd, Frame: hex.EncodeToString(frame)})
	return r.bridge.Inject(frame)
}

// AddProgram starts program p on host h now, once everything due by now
// has run, and records it for Replay: a system call made from outside
// while the run is live (the page's ping button). Its name must be new
// on h; its steps are checked as Parse checks a file's.
func (r *Runner) AddProgram(h string, p Program) error {
	hh := r.world[h]
	if hh == nil {
		return fmt.Errorf("no host %q", h)
	}
	if r.done {
		return errors.New("the run is over")
	}
	for _, hs := range r.file.Hosts {
		for _, q := range hs.Programs {
			if hs.Name == h && q.Name == p.Name {
				return fmt.Errorf("%s already runs a program %q", h, p.Name)
			}
		}
	}
	for _, q := range r.added {
		if q.host == h && q.p.Name == p.Name {
			return fmt.Errorf("%s already runs a program %q", h, p.Name)
		}
	}
	ps := &problems{}
	for si, s := range p.Steps {
		sp := fmt.Sprintf("steps[%d]", si)
		checkStep(ps, sp, s)
		if s.Op == "link" && s.Dev != "lo" && hh.core.Device(s.Dev) == nil {
			ps.add(sp+".dev", "no NIC %q on %s (nor lo)", s.Dev, h)
		}
	}
	if err := ps.err(); err != nil {
		return err
	}
	r.AdvanceTo(r.Now())
	p.AtNs, p.Live = r.Now(), true
	r.added = append(r.added, program{h, p})
	r.start(h, p)
	return nil
}

// Replay is the scenario as this run has played so far: the file with the
// frames taken from the real network and the programs started live, up
// to now. Simulating it gives this run's trace, event for event, without
// a network.
func (r *Runner) Replay() *File {
	f := *r.file
	f.UntilNs = r.Now()
	f.Inject = append(slices.Clip(f.Inject), r.injected...)
	f.Hosts = slices.Clone(f.Hosts)
	for _, a := range r.added {
		for i := range f.Hosts {
			if f.Hosts[i].Name == a.host {
				f.Hosts[i].Programs = append(slices.Clip(f.Hosts[i].Programs), a.p)
			}
		}
	}
	return &f
}

// Events is how many simulation events have run: the trace has not
// changed while it stays the same.
func (r *Runner) Events() int { return r.events }

// Until is when the run ends, in virtual time.
func (r *Runner) Until() int64 { return r.until }

// Now is the run's virtual time.
func (r *Runner) Now() int64 { return r.sim.Now() }

// Progress is how far the run has got, 0..1, by virtual time.
func (r *Runner) Progress() float64 {
	if r.done {
		return 1
	}
	return min(float64(r.sim.Now())/float64(r.until), 1)
}

// Trace is what has been recorded so far.
func (r *Runner) Trace() *trace.Trace {
	t := r.sim.Trace()
	t.Scenario = r.name
	t.Hosts = r.hosts
	t.Links = r.links
	return t
}

func endpoint(hosts map[string]*host, name string) (*nicEnd, error) {
	hn, nn, _ := strings.Cut(name, ".")
	if h := hosts[hn]; h != nil {
		if n := h.nic(nn); n != nil {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no NIC %q", name)
}

func buildHost(sim *kernel.Sim, hs Host) (*host, trace.Host, error) {
	k := sim.NewKernel(hs.Name, 1)
	c := core.NewNet(k, sched.Runner{})
	ip := ipv4.New(k, c)
	sysctl := func(key string) int {
		if v, ok := hs.Sysctls[key]; ok {
			return v
		}
		return defaultSysctls[key]
	}
	ip.DefaultSndBuf, ip.DefaultRcvBuf = sysctl("net.core.wmem_default"), sysctl("net.core.rmem_default")
	ip.TCPCongestion = hs.TCPCongestion
	if len(hs.Netfilter) > 0 {
		ip.NF = &netfilter.Table{}
		for _, r := range hs.Netfilter {
			h, _ := netfilter.HookByChain(r.Chain) // checked by Parse
			rule := &netfilter.Rule{Proto: nfProtos[r.Proto], Sport: uint16(r.Sport), Dport: uint16(r.Dport), Drop: r.Verdict == "drop"}
			rule.Saddr, _ = netip.ParsePrefix(r.Saddr)
			rule.Daddr, _ = netip.ParsePrefix(r.Daddr)
			ip.NF.Chains[h] = append(ip.NF.Chains[h], rule)
		}
	}
	h := &host{k: k, core: c, ip: ip, sock: &socket.Layer{
		Families: map[int]socket.Family{socket.AFInet: ip.Family()},
		WmemMax:  sysctl("net.core.wmem_max"),
		RmemMax:  sysctl("net.core.rmem_max"),
	}}
	info := trace.Host{Name: hs.Name}
	lo := loopback.New(c)
	info.Devices = append(info.Devices, trace.Device{Name: lo.Name, Driver: lo.Driver, MAC: lo.Addr.String(), Addr: lo.IPv4.String(), MTU: lo.MTU, Qdisc: "noqueue"})
	for _, ns := range hs.NICs {
		var mac header.MAC
		if ns.Model != "ppp" || ns.MAC != "" {
			m, err := header.ParseMAC(ns.MAC)
			if err != nil {
				return nil, info, fmt.Errorf("%s.%s: %w", hs.Name, ns.Name, err)
			}
			mac = m
		}
		pfx, err := netip.ParsePrefix(ns.Addr)
		if err != nil {
			return nil, info, fmt.Errorf("%s.%s: %w", hs.Name, ns.Name, err)
		}
		mtu := ns.MTU
		if mtu == 0 {
			mtu = 1500
		}
		dev := &core.Device{Name: ns.Name, Addr: mac, IPv4: pfx, MTU: mtu, Up: true, TxQueueLen: ns.TxQueueLen}
		c.AddDevice(dev)
		h.nics = append(h.nics, newNIC(k, dev, ns.Model))
		applyOffloads(dev, ns.Offloads)
		dev.NeededHeadroom = ns.NeededHeadroom
		if ns.Model == "ppp" && ns.TxQueueLen == 0 {
			dev.TxQueueLen = ppp.TxQueueLen // ppp_setup: tx_queue_len 3
		}
		if dev.Qdisc, err = newQdisc(k, dev, ns.Qdisc); err != nil {
			return nil, info, fmt.Errorf("%s.%s: %w", hs.Name, ns.Name, err)
		}
		// `ip addr add` installs the prefix route: proto kernel scope link.
		ip.Routes = append(ip.Routes, ipv4.Route{Dst: pfx.Masked(), Dev: dev, Src: pfx.Addr()})
		macS := mac.String()
		if ns.Model == "ppp" {
			macS = "" // link/ppp: no hardware address
		}
		info.Devices = append(info.Devices, trace.Device{
			Name: dev.Name, Driver: dev.Driver, MAC: macS, Addr: pfx.String(), MTU: mtu, Qdisc: dev.Qdisc.Kind(),
		})
	}
	for _, r := range hs.Routes {
		dst, err := netip.ParsePrefix(r.Dst)
		if err != nil {
			return nil, info, fmt.Errorf("%s: route %s: %w", hs.Name, r.Dst, err)
		}
		gw, err := netip.ParseAddr(r.Via)
		if err != nil {
			return nil, info, fmt.Errorf("%s: route %s: %w", hs.Name, r.Dst, err)
		}
		for _, d := range c.Devices {
			if d.IPv4.IsValid() && !d.Loopback && d.IPv4.Contains(gw) {
				ip.Routes = append(ip.Routes, ipv4.Route{Dst: dst.Masked(), Dev: d, Gw: gw, Src: d.IPv4.Addr()})
				break
			}
		}
	}
	ip.Forwarding = sysctl("net.ipv4.ip_forward") == 1
	for _, nb := range hs.Neighbours {
		dev := c.Device(nb.Dev)
		if dev == nil {
			return nil, info, fmt.Errorf("%s: neighbour %s: no device %q", hs.Name, nb.Addr, nb.Dev)
		}
		addr, err := netip.ParseAddr(nb.Addr)
		if err != nil {
			return nil, info, fmt.Errorf("%s: neighbour: %w", hs.Name, err)
		}
		mac, err := header.ParseMAC(nb.LLAddr)
		if err != nil {
			return nil, info, fmt.Errorf("%s: neighbour %s: %w", hs.Name, nb.Addr, err)
		}
		dev.AddNeighbour(addr, mac, core.NUDReachable)
	}
	for _, tp := range hs.Taps {
		if tp.Dev == "any" { // tcpdump -i any: bound to no device, on ptype_all
			c.PtypeAll = append(c.PtypeAll, &packet.Tap{Program: tp.Program})
			continue
		}
		dev := c.Device(tp.Dev)
		if dev == nil {
			return nil, info, fmt.Errorf("%s: tap: no device %q", hs.Name, tp.Dev)
		}
		dev.PtypeAll = append(dev.PtypeAll, &packet.Tap{Program: tp.Program})
	}
	if b := hs.BugOn; b != nil {
		k.Bug = &kernel.BugOn{Fn: b.Fn, Note: b.Note}
		for _, d := range info.Devices[1:] { // lo's driver is built in
			if !slices.Contains(k.Bug.Modules, d.Driver) {
				k.Bug.Modules = append(k.Bug.Modules, d.Driver)
			}
		}
	}
	return h, info, nil
}

// expand turns a program's composite steps into system calls: a sendto
// with a count is that many sendto calls, and ping
// becomes what iputils' ping does (a ping socket, then per packet an echo
// request with an 8-byte timestamp and a byte pattern, the wait for the
// reply, and a sleep until the next).
func expand(steps []Step) []Step {
	var out []Step
	for _, s := range steps {
		if (s.Op == "sendto" || s.Op == "send") && s.Count > 1 {
			for range s.Count {
				one := s
				one.Count = 1
				out = append(out, one)
			}
			continue
		}
		if s.Op != "ping" {
			out = append(out, s)
			continue
		}
		count, size, interval := max(s.Count, 1), s.Size, s.Ns
		if size == 0 {
			size = 56
		}
		if interval == 0 {
			interval = 1_000_000_000
		}
		out = append(out, Step{Op: "socket", Type: "icmp", As: "ping " + s.To})
		for i := range count {
			msg := make([]byte, header.ICMPLen+size)
			header.ICMP(msg).Encode(header.ICMPEcho, 0, uint32(i+1))
			for j := header.ICMPLen; j < len(msg); j++ {
				msg[j] = byte(j - header.ICMPLen) // the timestamp is not modelled; the pattern is
			}
			out = append(out,
				Step{Op: "sendto", Sock: "ping " + s.To, To: s.To + ":0", Data: string(msg)},
				Step{Op: "recvfrom", Sock: "ping " + s.To, Size: len(msg) + 128})
			if i+1 < count {
				out = append(out, Step{Op: "sleep", Ns: interval})
			}
		}
	}
	return out
}

// schedule starts a program's task at its time. Its system calls run
// one after the other in that task's context; one that sleeps (recvfrom
// on an empty queue, sendto on a full send buffer, sleep) resumes the
// program when it returns.
func schedule(h *host, p Program, got func([]byte)) {
	t := h.k.NewTask(p.Name)
	steps := expand(p.Steps)
	fds := map[string]int{}
	fdOf := func(s Step) int {
		if s.FD != nil {
			return *s.FD
		}
		if fd, ok := fds[s.Sock]; ok {
			return fd
		}
		return -1 // an unknown socket name is a bad fd, as in C
	}
	// Each system call ends with a return to user space, where pending
	// interrupts are taken before the next call starts: the next step is
	// a new event at the CPU's clock.
	var run func(i int)
	next := func(i int) func() {
		return func() { h.k.Later(0, t.Context(), func() { run(i + 1) }) }
	}
	run = func(i int) {
		if i >= len(steps) {
			return
		}
		s := steps[i]
		switch s.Op {
		case "socket":
			typ, proto := socket.SockDgram, 0
			switch s.Type {
			case "icmp":
				proto = header.ProtoICMP
			case "tcp":
				typ = socket.SockStream
			}
			if s.Nonblock {
				typ |= socket.SockNonblock
			}
			fds[s.As] = h.sock.SysSocket(h.k, t, socket.AFInet, typ, proto)
			next(i)()
		case "connect":
			h.sock.SysConnect(h.k, t, fdOf(s), netip.MustParseAddrPort(s.To), func(int) { next(i)() })
		case "listen":
			h.sock.SysListen(h.k, t, fdOf(s), s.Count)
			next(i)()
		case "accept":
			h.sock.SysAccept(h.k, t, fdOf(s), func(fd int) {
				fds[s.As] = fd
				next(i)()
			})
		case "send":
			h.sock.SysSendto(h.k, t, fdOf(s), payload(s), flagsOf(s), nil, func(int) { next(i)() })
		case "recv":
			h.sock.SysRecvfrom(h.k, t, fdOf(s), s.Size, 0, func(_ int, b []byte, _ netip.AddrPort) {
				got(b)
				next(i)()
			})
		case "drain":
			// Read until end of file or an error, as cat(1) would.
			var again func()
			again = func() {
				h.sock.SysRecvfrom(h.k, t, fdOf(s), s.Size, 0, func(r int, b []byte, _ netip.AddrPort) {
					got(b)
					if r > 0 {
						h.k.Later(0, t.Context(), again)
						return
					}
					next(i)()
				})
			}
			again()
		case "close":
			h.sock.SysClose(h.k, t, fdOf(s))
			next(i)()
		case "bind":
			h.sock.SysBind(h.k, t, fdOf(s), netip.MustParseAddrPort(s.Addr)) // checked by Parse
			next(i)()
		case "setsockopt":
			o := sockopts[s.Opt]
			h.sock.SysSetsockopt(h.k, t, fdOf(s), o[0], o[1], s.Value)
			next(i)()
		case "shutdown":
			h.sock.SysShutdown(h.k, t, fdOf(s), shutHow[s.How])
			next(i)()
		case "sendto":
			to := netip.MustParseAddrPort(s.To) // checked by Parse
			h.sock.SysSendto(h.k, t, fdOf(s), payload(s), flagsOf(s), &to, func(int) { next(i)() })
		case "sleep":
			h.k.Nanosleep(t, s.Ns, next(i))
		case "link":
			core.IPLinkSet(h.k, t, h.core.Device(s.Dev), s.State == "up", func(int) { next(i)() })
		case "recvfrom":
			h.sock.SysRecvfrom(h.k, t, fdOf(s), s.Size, 0, func(_ int, b []byte, _ netip.AddrPort) {
				got(b)
				next(i)()
			})
		}
	}
	h.k.RunOn(p.AtNs, 0, t.Context(), func() { run(0) })
}

// payload is a send step's bytes: its data, or size bytes of a pattern
// (what a bulk sender would write).
func payload(s Step) []byte {
	if s.Data != "" || s.Size == 0 {
		return []byte(s.Data)
	}
	b := make([]byte, s.Size)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789\n"[i%37]
	}
	return b
}

// Received is every byte the program's recv and recvfrom calls returned.
func (r *Runner) Received(host, program string) []byte { return r.received[host+"/"+program] }

// flagsOf is a step's msg flags.
func flagsOf(s Step) int {
	f := 0
	for _, name := range s.Flags {
		f |= msgFlags[name]
	}
	return f
}
