package scenario

import (
	"slices"
	"testing"

	"skbscope/stack/trace"
)

// loDown is the loopback lesson with `ip link set lo down` before the
// client sends, and `ip link set lo up` after, then a second send.
const loDown = `{
  "version": 1, "name": "lo-down", "rng_seed": 1, "until_ns": 5000000,
  "hosts": [{"name": "A",
    "nics": [{"name": "eth0", "mac": "02:00:00:00:00:0a", "addr": "192.0.2.1/24"}],
    "programs": [
      {"name": "server", "at_ns": 0, "steps": [
        {"op": "socket", "type": "udp", "as": "s"},
        {"op": "bind", "sock": "s", "addr": "127.0.0.1:9000"},
        {"op": "recvfrom", "sock": "s", "size": 2048}]},
      {"name": "client", "at_ns": 1000, "steps": [
        {"op": "link", "dev": "lo", "state": "down"},
        {"op": "socket", "type": "udp", "as": "c"},
        {"op": "sendto", "sock": "c", "to": "127.0.0.1:9000", "data": "lost"},
        {"op": "link", "dev": "lo", "state": "up"},
        {"op": "sendto", "sock": "c", "to": "127.0.0.1:9000", "data": "hello"}]}]}]
}`

// TestLoopbackDown: with lo down, 6.12 still routes to 127.0.0.1 (local
// routes have host scope and survive NETDEV_DOWN), so sendto() succeeds;
// the skb dies in lo's noop_qdisc, which dev_deactivate put in place of
// noqueue (NET_XMIT_CN, which sendto does not report). Once lo is up
// again, noqueue is back and the second datagram arrives.
func TestLoopbackDown(t *testing.T) {
	f, err := Parse([]byte(loDown))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	var rets []string
	var noop, recv []int
	for i := range tr.Events {
		e := &tr.Events[i]
		switch {
		case e.Kind == trace.Ret && e.Fn == "__sys_sendto":
			rets = append(rets, e.Ret)
		case e.Kind == trace.Ret && e.Fn == "noop_enqueue":
			noop = append(noop, i)
			if e.Ret != "NET_XMIT_CN" {
				t.Errorf("noop_enqueue returned %s", e.Ret)
			}
		case e.Kind == trace.Ret && e.Fn == "__sys_recvfrom":
			recv = append(recv, i)
			if e.Ret != "5" {
				t.Errorf("recvfrom returned %s, want 5 (hello)", e.Ret)
			}
		case e.Kind == trace.Call && e.Fn == "loopback_xmit" && len(noop) == 0:
			t.Errorf("loopback_xmit called while lo is down (seq %d)", i)
		}
	}
	if want := []string{"4", "5"}; !slices.Equal(rets, want) {
		t.Errorf("sendto returned %v, want %v", rets, want)
	}
	if len(noop) != 1 || len(recv) != 1 {
		t.Fatalf("%d noop drops, %d datagrams received; want 1 and 1", len(noop), len(recv))
	}
	if fns := stackFns(tr, noop[0]); !slices.Contains(fns, "udp_sendmsg") || !slices.Contains(fns, "__dev_xmit_skb") {
		t.Errorf("noop drop not on the sendto path through __dev_xmit_skb: %v", fns)
	}
}
