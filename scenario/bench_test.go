package scenario

import "testing"

// BenchmarkLessons runs each lesson, trace recorded, and reports
// simulation events per second.
func BenchmarkLessons(b *testing.B) {
	for _, l := range Lessons() {
		f, err := Load(l.Name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(l.Name, func(b *testing.B) {
			events := 0
			for b.Loop() {
				tr, err := Simulate(f)
				if err != nil {
					b.Fatal(err)
				}
				events += len(tr.Events)
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
