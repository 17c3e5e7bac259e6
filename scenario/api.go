package scenario

import (
	"fmt"

	"skbscope/stack/trace"
)

// Lesson is one embedded scenario as the lessons page lists it.
type Lesson struct {
	Name  string // URL name, e.g. "udp-sendto"
	Title string
	Seed  string // the seed post it follows, e.g. "000"
	Intro string
}

// Lessons lists the embedded lessons in their teaching order.
func Lessons() []Lesson { return nil }

// Run simulates the named lesson and returns its trace.
func Run(name string) (*trace.Trace, error) { return nil, fmt.Errorf("unknown lesson %q", name) }
