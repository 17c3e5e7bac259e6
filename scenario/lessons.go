package scenario

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"skbscope/stack/trace"
)

//go:embed lessons/*.json
var lessonFS embed.FS

// order is the teaching order of the embedded lessons.
var order = []string{"udp-sendto", "udp-a-to-b", "arp", "arp-unanswered", "ping", "udp-no-listener", "loopback", "qdisc-overflow", "qdisc-bands", "tbf", "fq-codel", "cs8900-vs-dm9000", "tcpdump-tap", "device-down", "fragmentation", "ip-forward", "offloads", "oops", "ppp-sendto", "tcp-handshake", "tcp-refused", "tcp-send", "tcp-loopback", "tcp-loss", "tcp-cwnd", "tcp-zero-window", "tcp-close", "netfilter-drop"}

// Lesson is one embedded scenario as the lessons page lists it.
type Lesson struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Seed  string `json:"seed"`
	Intro string `json:"intro"`
}

// Load parses the embedded lesson called name.
func Load(name string) (*File, error) {
	if strings.ContainsAny(name, "/\\.") {
		return nil, fmt.Errorf("unknown lesson %q", name)
	}
	data, err := lessonFS.ReadFile(path.Join("lessons", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("unknown lesson %q", name)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("lesson %s: %w", name, err)
	}
	return f, nil
}

// Lessons lists the embedded lessons in teaching order. It decodes only
// each file's name, title, seed and introduction, not the whole scenario:
// the page lists the lessons before its first frame, and parsing and
// checking every scenario there took most of a second in WebAssembly.
// A lesson that does not load still fails when it is opened (and in the
// golden tests, which open every lesson listed here).
func Lessons() []Lesson {
	var ls []Lesson
	for _, n := range order {
		data, err := lessonFS.ReadFile(path.Join("lessons", n+".json"))
		if err != nil {
			continue
		}
		var l Lesson
		if json.Unmarshal(data, &l) == nil {
			ls = append(ls, l)
		}
	}
	return ls
}

// Run simulates the named lesson and returns its trace.
func Run(name string) (*trace.Trace, error) {
	f, err := Load(name)
	if err != nil {
		return nil, err
	}
	return Simulate(f)
}
