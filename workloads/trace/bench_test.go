package trace

import (
	"io"
	"testing"
)

// BenchmarkGenerate500x30 expands a 500-function, 30-minute synthetic clip
// (the size of the papers' azure_500 replay) and reports throughput and the
// schedule's size.
func BenchmarkGenerate500x30(b *testing.B) {
	tr, err := Synth(SynthOptions{Functions: 500, Minutes: 30, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		s, err := Generate(tr, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		n = s.Len()
	}
	b.ReportMetric(float64(n), "invocations/op")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "invocations/s")
}

// BenchmarkStream500x30 walks the same clip one function at a time, holding
// only one function's invocations.
func BenchmarkStream500x30(b *testing.B) {
	tr, err := Synth(SynthOptions{Functions: 500, Minutes: 30, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g, err := NewGenerator(tr, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := g.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTimeline500x30 merges the clip's invocations into time order, as
// a replay walks them.
func BenchmarkTimeline500x30(b *testing.B) {
	tr, _ := Synth(SynthOptions{Functions: 500, Minutes: 30, Seed: 1})
	s, err := Generate(tr, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for range s.Timeline() {
			n++
		}
		if n != s.Len() {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(s.Len())*float64(b.N)/b.Elapsed().Seconds(), "invocations/s")
}
