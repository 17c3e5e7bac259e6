package live

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"skbscope/scenario"
)

const lab = `{"version": 1, "name": "lab", "until_ns": 60000000000,
 "hosts": [{"name": "S", "nics": [{"name": "eth0", "mac": "02:00:00:00:00:0a", "addr": "192.0.2.10/24", "mtu": 1500}]}],
 "links": [{"name": "tap0", "a": "S.eth0", "b": "bridge", "rate_bps": 1000000000, "delay_ns": 0}]}`

// pipe is a fake bridge connection: frames to the run come from in, the
// run's frames go to out; closing in fails the reads.
type pipe struct {
	in  chan []byte
	out chan []byte
}

func newPipe() *pipe { return &pipe{make(chan []byte, 16), make(chan []byte, 64)} }

func (p *pipe) ReadFrame() ([]byte, error) {
	f, ok := <-p.in
	if !ok {
		return nil, errors.New("pipe closed")
	}
	return f, nil
}

func (p *pipe) WriteFrames(fs ...[]byte) error {
	for _, f := range fs {
		p.out <- f
	}
	return nil
}

var outside = net.HardwareAddr{2, 0, 0, 0, 0, 1}

func arpRequest(t *testing.T) []byte {
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: outside, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: outside, SourceProtAddress: []byte{192, 0, 2, 1},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 0, 2, 10}})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wait(t *testing.T, c chan []byte, what string) []byte {
	t.Helper()
	select {
	case f := <-c:
		return f
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
	}
	return nil
}

// TestSession: a frame from the attached connection is answered on it;
// when the connection fails the run goes on, a program added meanwhile
// runs (its frame lost), and a second connection takes over; after the
// run, Do says so.
func TestSession(t *testing.T) {
	f, err := scenario.Parse([]byte(lab))
	if err != nil {
		t.Fatal(err)
	}
	r, err := scenario.NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	s := New(r)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	p1 := newPipe()
	failed := make(chan error, 1)
	s.Attach(p1, func(err error) { failed <- err })
	p1.in <- arpRequest(t)
	reply := gopacket.NewPacket(wait(t, p1.out, "ARP reply"), layers.LayerTypeEthernet, gopacket.Default)
	if a, ok := reply.Layer(layers.LayerTypeARP).(*layers.ARP); !ok || a.Operation != layers.ARPReply {
		t.Fatalf("not an ARP reply: %v", reply)
	}
	close(p1.in)
	select {
	case err := <-failed:
		if err == nil || err.Error() != "pipe closed" {
			t.Errorf("failed with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed connection was not reported")
	}

	// Unplugged: the program runs, its echo request is lost.
	add := func(p scenario.Program) {
		t.Helper()
		if err := s.Do(func(r *scenario.Runner) {
			if err := r.AddProgram("S", p); err != nil {
				t.Error(err)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	add(scenario.Program{Name: "ping", Steps: []scenario.Step{{Op: "ping", To: "192.0.2.1"}}})
	time.Sleep(20 * time.Millisecond)
	p2 := newPipe()
	s.Attach(p2, func(error) {})
	add(scenario.Program{Name: "udp", Steps: []scenario.Step{{Op: "socket", Type: "udp", As: "u"},
		{Op: "sendto", Sock: "u", To: "192.0.2.1:9", Data: "after the reconnect"}}})
	// The run is paced by the wall clock: on a busy machine the ping's
	// frame may come after the reconnect, or the neighbour's probe
	// (NUD_DELAY's 5 s) before the datagram. Those may pass; the
	// datagram must come.
	for n := 0; ; n++ {
		got := gopacket.NewPacket(wait(t, p2.out, "UDP datagram"), layers.LayerTypeEthernet, gopacket.Default)
		if u, ok := got.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			if string(u.Payload) != "after the reconnect" {
				t.Fatalf("want the UDP datagram on the new connection, got %v", got)
			}
			break
		}
		if got.Layer(layers.LayerTypeARP) == nil && got.Layer(layers.LayerTypeICMPv4) == nil || n == 10 {
			t.Fatalf("want the UDP datagram on the new connection, got %v", got)
		}
	}
	select {
	case f := <-p1.out:
		t.Errorf("a frame reached the failed connection: %x", f)
	default:
	}
	var events int
	s.Do(func(r *scenario.Runner) { events = len(r.Trace().Events) })
	if events == 0 {
		t.Error("no events recorded")
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	if err := s.Do(func(*scenario.Runner) {}); err != ErrEnded {
		t.Errorf("Do after the end: %v", err)
	}
}
