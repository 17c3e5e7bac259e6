package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"

	"skbscope/scenario"
	"skbscope/stack/trace"
)

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestTraceJSON(t *testing.T) {
	out, stderr, code := runCmd(t, "trace", "-scenario", "udp-sendto", "-format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	n, wire := 0, 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", n+1, err)
		}
		for _, k := range []string{"seq", "t_ns", "host", "cpu", "ctx", "kind"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("line %d lacks %q: %s", n+1, k, sc.Text())
			}
		}
		if m["seq"].(float64) != float64(n) {
			t.Fatalf("line %d has seq %v", n+1, m["seq"])
		}
		if m["kind"] == "wire" {
			wire++
			if f, _ := m["frame"].(string); len(f) != 120 {
				t.Errorf("wire event frame %q, want 60 bytes in hex", f)
			}
		}
		n++
	}
	if n < 100 || wire != 1 {
		t.Fatalf("%d events, %d wire events", n, wire)
	}
}

func TestTraceFtrace(t *testing.T) {
	out, stderr, code := runCmd(t, "trace", "-scenario", "udp-sendto", "-format", "ftrace")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, re := range []string{
		`(?m)^# tracer: function_graph$`,
		`(?m)^ A:0\) +\|  __sys_sendto\(\) \{$`,
		`(?m)^ A:0\) +[0-9.]+ us \|  \} /\* __sys_sendto = 5 \*/$`,
		`(?m)^ A:0\) +\| +e1000_xmit_frame\(\) \{$`,
		`(?m)^ A:0\) +[0-9.]+ us \| +e1000_maybe_stop_tx\(\);$`,
		`(?m)^ A:0\)  task:sender\[101\]  =>  hardirq:eth0$`,
		`(?m)^ A:hw\) +\|  /\* wire lan0 60 bytes`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("ftrace output lacks %s", re)
		}
	}
}

func TestTracePwru(t *testing.T) {
	out, stderr, code := runCmd(t, "trace", "-scenario", "udp-sendto", "-format", "pwru")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	re := regexp.MustCompile(`(?m)^0xffff888000000100 A:0 +\[sender:101\] +eth0 +0x0800 1500 +47 +192\.0\.2\.1:\d+->192\.0\.2\.2:9000\(udp\) +e1000_xmit_frame$`)
	if !re.MatchString(out) {
		t.Errorf("no pwru line for skb 1 in e1000_xmit_frame:\n%s", out)
	}
	if !strings.Contains(out, "0xffff888000000200") {
		t.Error("the tcpdump clone (skb 2) is missing")
	}
}

// TestTraceOops: -format oops prints the console text of the oops
// lesson's BUG(), -format oops-arm the same stack as seed 000's ARM
// backtrace, and a lesson without an oops is an error.
func TestTraceOops(t *testing.T) {
	out, stderr, code := runCmd(t, "trace", "-scenario", "oops", "-format", "oops")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, re := range []string{
		`(?m)^\[host A\]\n------------\[ cut here \]------------\nkernel BUG at net/core/dev\.c:4494!$`,
		`(?m)^RIP: 0010:__dev_queue_xmit\+0x[0-9a-f]+/0x[0-9a-f]+$`,
		`(?m)^ ip_finish_output2\+0x[0-9a-f]+/0x[0-9a-f]+$`,
		`(?m)^ entry_SYSCALL_64_after_hwframe\+`,
		`(?m)^Kernel panic - not syncing: Fatal exception$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("oops output lacks %s:\n%s", re, out)
		}
	}
	out, stderr, code = runCmd(t, "trace", "-scenario", "oops", "-format", "oops-arm")
	if code != 0 || !regexp.MustCompile(`(?m)^\[<[0-9a-f]{8}>\] \(__dev_queue_xmit\+0x0/0x[0-9a-f]+\) from \[<[0-9a-f]{8}>\] \(ip_finish_output2\+0x[0-9a-f]+/0x[0-9a-f]+\)$`).MatchString(out) {
		t.Errorf("oops-arm: exit %d, %s\n%s", code, stderr, out)
	}
	if _, stderr, code := runCmd(t, "trace", "-scenario", "udp-sendto", "-format", "oops"); code == 0 || !strings.Contains(stderr, "no oops") {
		t.Errorf("udp-sendto -format oops: exit %d, %q", code, stderr)
	}
}

func TestTraceBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"trace"},
		{"trace", "-scenario", "nope"},
		{"trace", "-scenario", "udp-sendto", "-format", "xml"},
		{"trace", "-bogus"},
		{"pcap", "-scenario", "udp-sendto", "-o", filepath.Join(t.TempDir(), "no", "such", "dir.pcap")},
		{"nosuchcommand"},
	} {
		_, stderr, code := runCmd(t, args...)
		if code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{\n \"version\": 1,\n \"hosts\": [\n}"), 0o644)
	_, stderr, code := runCmd(t, "trace", "-scenario", bad)
	if code != 1 || !strings.Contains(stderr, "line 4, column 1") {
		t.Errorf("broken scenario file: exit %d, %q", code, stderr)
	}
}

// lessonPcap writes a lesson's pcap with `server pcap` and opens it.
func lessonPcap(t *testing.T, lesson string) (string, *pcapgo.Reader) {
	t.Helper()
	path := filepath.Join(t.TempDir(), lesson+".pcap")
	if _, stderr, code := runCmd(t, "pcap", "-scenario", lesson, "-o", path); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return path, r
}

func TestPcap(t *testing.T) {
	path, r := lessonPcap(t, "udp-sendto")
	data, ci, err := r.ReadPacketData()
	if err != nil || len(data) != 60 || ci.Timestamp.UnixNano() <= 0 {
		t.Fatalf("first packet: %d bytes at %v, %v", len(data), ci.Timestamp, err)
	}
	// Wireshark's dissector judges the frame, checksums included.
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (make test installs it): the Wireshark check did not run")
	}
	out, err := exec.Command(tshark, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "udp.dstport", "-e", "data.data").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 4 || fields[0] != "1" || fields[1] != "1" || fields[2] != "9000" || fields[3] != "68656c6c6f" {
		t.Errorf("tshark reads %q; want good IP and UDP checksums (status 1), port 9000, payload hello", out)
	}
	bad, err := exec.Command(tshark, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-Y", "_ws.expert.severity >= warning || _ws.malformed").Output()
	if err != nil || len(bytes.TrimSpace(bad)) != 0 {
		t.Errorf("tshark finds problems: %v\n%s", err, bad)
	}
}

// TestPcapEveryLessonWireshark: every lesson's frames pass Wireshark's
// dissectors: no warning, no error, nothing malformed (a RST is reported
// as a warning by Wireshark's TCP analysis; frames that are RSTs are
// judged by the other checks only). On real wires the
// IP, UDP and TCP checksums are checked too. On lo they are not: Linux
// never finishes a checksum there (lo has NETIF_F_HW_CSUM, so the skb
// stays CHECKSUM_PARTIAL), and `tcpdump -i lo` shows the same "incorrect"
// checksums.
func TestPcapEveryLessonWireshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (make test installs it): the Wireshark check did not run")
	}
	for _, l := range scenario.Lessons() {
		tr, err := scenario.Run(l.Name)
		if err != nil {
			t.Fatal(err)
		}
		wires := tr.Wires()
		if len(wires) == 0 && !oopsed(tr) { // a host that oopses before it sends leaves the wire empty
			t.Errorf("%s: no frames on any wire", l.Name)
		}
		for _, w := range wires {
			path := filepath.Join(t.TempDir(), l.Name+"-"+w+".pcap")
			if _, stderr, code := runCmd(t, "pcap", "-scenario", l.Name, "-wire", w, "-o", path); code != 0 {
				t.Fatalf("%s: exit %d: %s", l.Name, code, stderr)
			}
			check := "TRUE"
			if strings.HasSuffix(w, ".lo") {
				check = "FALSE"
			}
			// Window full and zero window are what tcp-zero-window shows;
			// on a lossy link a retransmission that follows new data within
			// 3 ms is what Wireshark calls out of order.
			expected := "!tcp.connection.rst"
			if l.Name == "tcp-zero-window" {
				expected += " && !tcp.analysis.zero_window && !tcp.analysis.window_full"
			}
			if lossy(t, l.Name) {
				expected += " && !tcp.analysis.out_of_order"
			}
			bad, err := exec.Command(tshark, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:"+check,
				"-o", "tcp.check_checksum:"+check, "-Y", "(_ws.expert.severity >= warning && "+expected+") || _ws.malformed || tcp.checksum.status == 0 || udp.checksum.status == 0 || ip.checksum.status == 0").Output()
			if err != nil || len(bytes.TrimSpace(bad)) != 0 {
				t.Errorf("%s on %s: tshark finds problems: %v\n%s", l.Name, w, err, bad)
			}
		}
	}
}

// lossy reports whether a link of the lesson loses frames.
func lossy(t *testing.T, name string) bool {
	f, err := scenario.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range f.Links {
		if l.LossPct > 0 {
			return true
		}
	}
	return false
}

// oopsed reports whether a host of the trace hit a BUG().
func oopsed(tr *trace.Trace) bool {
	for i := range tr.Events {
		if tr.Events[i].Kind == trace.Oops {
			return true
		}
	}
	return false
}

// TestPcapWritersAgree: the browser's dependency-free pcap writer and
// the command line's pcapgo write the same bytes.
func TestPcapWritersAgree(t *testing.T) {
	for _, l := range scenario.Lessons() {
		tr, err := scenario.Run(l.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range append(tr.Wires(), "") {
			var a, b bytes.Buffer
			if err := writePcap(tr, w, &a); err != nil {
				t.Fatal(err)
			}
			if err := tr.WritePcap(&b, w); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("%s wire %q: the two pcap writers differ", l.Name, w)
			}
		}
	}
}

// TestPcapPPPTshark: the serial PPP line is written as LINKTYPE_PPP_HDLC
// (the stream cut at its flags, unstuffed, without FCS), and Wireshark
// reads it as PPP, IPv4 and UDP with good checksums.
func TestPcapPPPTshark(t *testing.T) {
	path, r := lessonPcap(t, "ppp-sendto")
	if r.LinkType() != 50 {
		t.Fatalf("link type %d, want 50 (PPP_HDLC)", r.LinkType())
	}
	data, _, err := r.ReadPacketData()
	if err != nil || !bytes.HasPrefix(data, []byte{0xff, 0x03, 0x00, 0x21}) || len(data) != 4+33 {
		t.Fatalf("first packet % x, %v; want ff 03 00 21 and the 33-byte IP packet", data, err)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (make test installs it): the Wireshark check did not run")
	}
	out, err := exec.Command(tshark, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-e", "frame.protocols", "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "data.data").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 4 || got[0] != "ppp:ip:udp:data" || got[1] != "1" || got[2] != "1" || got[3] != "68656c6c6f" {
		t.Errorf("tshark reads %q; want ppp:ip:udp:data, good checksums, hello", out)
	}
}
