package scenario

import (
	"strings"
	"testing"

	"skbscope/stack/trace"
)

// sendtoRet runs udp-sendto with its sender's sendto step changed by
// edit, and returns what __sys_sendto returned and the trace.
func sendtoRet(t *testing.T, edit func(f *File)) (string, *trace.Trace) {
	t.Helper()
	f, err := Load("udp-sendto")
	if err != nil {
		t.Fatal(err)
	}
	edit(f)
	tr, err := Simulate(f)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range tr.Events {
		if e.Kind == trace.Call && e.Fn == "__sys_sendto" {
			if r := retOf(tr, i); r != nil {
				return r.Ret, tr
			}
		}
	}
	t.Fatal("no __sys_sendto")
	return "", nil
}

func step(f *File) *Step { return &f.Hosts[0].Programs[0].Steps[1] }

func TestSendtoErrors(t *testing.T) {
	zero, big := 0, 7
	cases := []struct {
		name string
		edit func(f *File)
		want string
	}{
		{"bad fd", func(f *File) { step(f).FD = &big }, "-EBADF"},
		{"not a socket", func(f *File) { step(f).FD = &zero }, "-ENOTSOCK"},
		{"no route", func(f *File) { step(f).To = "198.51.100.7:9000" }, "-ENETUNREACH"},
		{"port 0", func(f *File) { step(f).To = "192.0.2.2:0" }, "-EINVAL"},
		{"over 64 KiB", func(f *File) { step(f).Data = strings.Repeat("x", 65536) }, "-EMSGSIZE"},
		{"no room for the headers", func(f *File) { step(f).Data = strings.Repeat("x", 65508) }, "-EMSGSIZE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, tr := sendtoRet(t, c.edit)
			if got != c.want {
				t.Fatalf("sendto returned %s, want %s", got, c.want)
			}
			for _, e := range tr.Events {
				if e.Kind == trace.Wire {
					t.Fatal("a failed sendto put a frame on the wire")
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"version": 1,`, "line 1, column"},
		{"{\n  \"version\": \"one\"\n}", "line 2, column"},
		{`{"version": 1, "hosts": [], "bogus": true}`, "unknown field"},
		{`{"version": 2}`, "version 2"},
		{`{"version": 1, "links": [{"name": "l", "a": "A.eth0", "b": "B.eth0", "rate_bps": 1}]}`, `no NIC "A.eth0"`},
		{`{"version": 1, "hosts": [{"name": "A", "nics": [{"name": "eth0", "driver": "e1000e", "mac": "02:00:00:00:00:01", "addr": "nope"}]}]}`, "not an IPv4 prefix"},
		{`{"version": 1} {}`, "trailing data"},
		{``, "line 1, column 1"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestUnknownLesson(t *testing.T) {
	for _, n := range []string{"", "nope", "../lessons/udp-sendto", "udp-sendto.json"} {
		if _, err := Run(n); err == nil {
			t.Errorf("Run(%q) succeeded", n)
		}
	}
}

// FuzzParse: no input makes Parse or Simulate panic.
func FuzzParse(f *testing.F) {
	good, _ := lessonFS.ReadFile("lessons/udp-sendto.json")
	f.Add(good)
	drivers, _ := lessonFS.ReadFile("lessons/cs8900-vs-dm9000.json")
	f.Add(drivers)
	tbf, _ := lessonFS.ReadFile("lessons/tbf.json")
	f.Add(tbf)
	f.Add([]byte(`{"version":1,"hosts":[{"name":"A"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse(data)
		if err != nil {
			return
		}
		sc.UntilNs = 10_000_000
		_, _ = Simulate(sc)
	})
}

// TestSemanticErrorPositions: errors found after decoding name the line
// and column of the offending value.
func TestSemanticErrorPositions(t *testing.T) {
	in := `{
  "version": 1,
  "hosts": [
    {"name": "A",
     "nics": [{"name": "eth0", "driver": "e1000e", "mac": "02:00:00:00:00:01",
               "addr": "192.0.2.300/24"}],
     "programs": [{"name": "p", "steps": [{"op": "fly"}]}]}
  ],
  "links": [{"name": "l", "a": "A.eth0", "b": "B.eth0", "rate_bps": 1000}]
}`
	_, err := Parse([]byte(in))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`line 6, column 24: hosts[0].nics[0].addr: "192.0.2.300/24" is not an IPv4 prefix`,
		`line 7, column 50: hosts[0].programs[0].steps[0].op: unknown op "fly"`,
		`line 9, column 47: links[0].b: no NIC "B.eth0"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
