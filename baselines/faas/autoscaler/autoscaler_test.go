package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

var epoch = time.Unix(1_700_000_000, 0)

// sim drives one function through a scripted load: the gateway reports
// concurrency changes, Run's sampling and decision ticks are replayed in
// order, pokes are handled at once, and ready pods follow the applied scale
// after readyDelay.
type sim struct {
	t          *testing.T
	a          *Autoscaler
	clk        *clocktesting.FakeClock
	readyDelay time.Duration
	scales     []Decision // applied, in order
	load       int
	failScale  bool
}

const fn = "f"

func newSim(t *testing.T, cfg Config, readyDelay time.Duration) *sim {
	s := &sim{t: t, clk: clocktesting.NewFakeClock(epoch), readyDelay: readyDelay}
	scale := func(_ context.Context, ns, name string, n int32) error {
		if ns != "ns" || name != fn {
			t.Fatalf("scale of %s/%s, want ns/%s", ns, name, fn)
		}
		if s.failScale {
			return errors.New("api down")
		}
		return nil
	}
	a, err := New(cfg, "ns", scale, s.ready, WithClock(s.clk), WithObserver(func(d Decision) {
		if d.Err == nil {
			s.scales = append(s.scales, d)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	s.a = a
	a.Register(fn)
	return s
}

// ready is the applied scale, once readyDelay has passed since it was applied.
func (s *sim) ready(string) int {
	now := s.clk.Now()
	n := int32(0)
	for _, d := range s.scales {
		if !d.Time.Add(s.readyDelay).After(now) {
			n = d.Replicas
		}
	}
	return int(n)
}

// scaleAt is the applied scale at time at (seconds since the start).
func (s *sim) scaleAt(at float64) int32 {
	n := int32(0)
	for _, d := range s.scales {
		if d.Time.Sub(epoch).Seconds() <= at {
			n = d.Replicas
		}
	}
	return n
}

// run advances to end seconds in 100 ms steps with concurrency load(t).
func (s *sim) run(end float64, load func(t float64) int) {
	ctx := context.Background()
	cfg := s.a.cfg
	for step := 0; float64(step)/10 <= end; step++ {
		now := epoch.Add(time.Duration(step) * 100 * time.Millisecond)
		s.clk.SetTime(now)
		if c := load(float64(step) / 10); c != s.load {
			s.a.Add(fn, c-s.load)
			s.load = c
		}
		for drained := false; !drained; {
			select {
			case name := <-s.a.poked:
				if apply := s.a.decide(ctx, name, now, true); apply != nil {
					apply()
				}
			default:
				drained = true
			}
		}
		since := now.Sub(epoch)
		if since%cfg.Granularity == 0 {
			s.a.sample(now)
		}
		if since%cfg.Tick == 0 {
			if apply := s.a.decide(ctx, fn, now, false); apply != nil {
				apply()
			}
		}
	}
}

// between is a load of c from t0 (inclusive) to t1 (exclusive), else base.
func between(t0, t1 float64, c, base int) func(float64) int {
	return func(t float64) int {
		if t >= t0 && t < t1 {
			return c
		}
		return base
	}
}

type bound struct {
	at       float64 // seconds
	min, max int32
}

func TestDecisions(t *testing.T) {
	short := Knative()
	short.ScaleToZeroGrace = 30 * time.Second // Knative's default grace
	noDelay := Knative()
	noDelay.ScaleDownDelay = 0

	cases := []struct {
		name   string
		cfg    Config
		delay  time.Duration // pods become ready this long after a scale
		end    float64
		load   func(float64) int
		bounds []bound
	}{{
		name: "first request at zero scales to one at once",
		cfg:  Knative(), end: 1.5,
		load:   between(1, 2, 1, 0),
		bounds: []bound{{0.9, 0, 0}, {1.0, 1, 1}},
	}, {
		name: "no load, no stats, no decision",
		cfg:  Knative(), end: 120,
		load:   between(0, 0, 0, 0),
		bounds: []bound{{120, 0, 0}},
	}, {
		name: "burst enters panic mode and scales within the panic window",
		cfg:  Knative(), end: 110,
		// 1 in flight for a minute, then a burst of 20 for 6 s.
		load: func(t float64) int {
			switch {
			case t >= 60 && t < 66:
				return 20
			case t < 80:
				return 1
			}
			return 1
		},
		bounds: []bound{
			{59, 1, 1},
			// stable average alone would want ⌈(56+4·20)/60⌉ = 3 pods at 64 s
			{64.1, 10, 20},
			// panic mode never scales down while the burst is in the panic window
			{100, 14, 20},
		},
	}, {
		name: "max scale-up rate bounds a decision by the ready pods",
		cfg:  Knative(), delay: 50 * time.Second, end: 56,
		load: between(0.5, 100, 5000, 0),
		// ⌈1000 × max(1, ready)⌉ while nothing is ready, then all 5000.
		bounds: []bound{{0.4, 0, 0}, {0.5, 1000, 1000}, {48, 1000, 1000}, {56, 5000, 5000}},
	}, {
		name: "stable-window scale-down waits for the scale-down delay and halves at most",
		cfg:  Knative(), end: 180,
		load: func(t float64) int {
			if t < 70 {
				return 16
			}
			return 0
		},
		bounds: []bound{{68, 16, 16}, {95, 16, 16}, {140, 1, 15}},
	}, {
		name: "scale-to-zero waits for the grace since the activator entered the path",
		cfg:  Knative(), end: 15*60 + 4,
		load:   between(1, 2, 1, 0),
		bounds: []bound{{60, 1, 1}, {14*60 + 58, 1, 1}, {15*60 + 2, 0, 0}},
	}, {
		name: "short grace: zero after the stable window, the scale-down delay and deactivation",
		cfg:  short, end: 120,
		load:   between(1, 2, 1, 0),
		bounds: []bound{{85, 1, 1}, {100, 0, 0}},
	}, {
		name: "dirigent drops to zero as soon as the stable average is zero",
		cfg:  Dirigent(), end: 80,
		load:   between(1, 2, 1, 0),
		bounds: []bound{{1, 1, 1}, {56, 1, 1}, {62, 0, 0}},
	}, {
		name: "dirigent keeps its scale for one stable window after registration",
		cfg:  Dirigent(), end: 80,
		load:   between(0, 30, 8, 0),
		bounds: []bound{{20, 8, 8}, {58, 8, 8}, {76, 0, 4}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.cfg, tc.delay)
			s.run(tc.end, tc.load)
			for _, b := range tc.bounds {
				if got := s.scaleAt(b.at); got < b.min || got > b.max {
					t.Errorf("scale at %gs = %d, want [%d, %d]; decisions %s", b.at, got, b.min, b.max, show(s.scales))
				}
			}
			// Rate limits hold for every applied decision (ready follows at once
			// unless delayed, so the previous scale is the ready count).
			prev := int32(0)
			for _, d := range s.scales {
				if tc.delay == 0 && prev > 0 && d.Replicas > 0 && d.Replicas < prev/2 {
					t.Errorf("scale-down %d → %d exceeds max scale-down rate 2", prev, d.Replicas)
				}
				if d.Replicas > 1000*max(prev, 1) {
					t.Errorf("scale-up %d → %d exceeds max scale-up rate 1000", prev, d.Replicas)
				}
				prev = d.Replicas
			}
		})
	}
}

func TestScaleErrorIsRetried(t *testing.T) {
	s := newSim(t, Knative(), 0)
	s.failScale = true
	s.run(1, between(0.5, 100, 1, 0))
	if len(s.scales) != 0 || s.a.Desired(fn) != 0 {
		t.Fatalf("failed scale recorded: %s, desired %d", show(s.scales), s.a.Desired(fn))
	}
	s.failScale = false
	s.run(3, between(0.5, 100, 1, 0))
	if got := s.a.Desired(fn); got != 1 {
		t.Fatalf("after the API recovers desired = %d, want 1", got)
	}
}

func TestRunPokesFromZero(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	got := make(chan int32, 1)
	a, err := New(Knative(), "ns", func(_ context.Context, _, _ string, n int32) error {
		got <- n
		return nil
	}, func(string) int { return 0 }, WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	a.Register(fn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	a.Add(fn, 1) // no clock step: the poke alone must scale
	select {
	case n := <-got:
		if n != 1 {
			t.Fatalf("scaled to %d, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first request at zero did not scale the function")
	}
	cancel()
	<-done
}

func TestValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"target zero":        func(c *Config) { c.Target = 0 },
		"target over total":  func(c *Config) { c.Target = 2 },
		"slow scale-up":      func(c *Config) { c.MaxScaleUpRate = 1 },
		"low panic":          func(c *Config) { c.PanicThreshold = 1 },
		"sub-second buckets": func(c *Config) { c.Granularity = 500 * time.Millisecond },
		"panic over stable":  func(c *Config) { c.PanicWindow = 2 * c.StableWindow },
		"odd delay":          func(c *Config) { c.ScaleDownDelay = 3 * time.Second },
		"no tick":            func(c *Config) { c.Tick = 0 },
	} {
		c := Knative()
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
	for _, c := range []Config{Knative(), Dirigent()} {
		if err := c.Validate(); err != nil {
			t.Errorf("profile rejected: %v", err)
		}
	}
}

func show(ds []Decision) string {
	out := ""
	for _, d := range ds {
		out += fmt.Sprintf(" %v→%d", d.Time.Sub(epoch), d.Replicas)
	}
	return out
}

func TestSlowScaleDoesNotBlockOtherFunctions(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	release := make(chan struct{})
	scaled := make(chan string, 2)
	a, err := New(Knative(), "ns", func(_ context.Context, _, name string, _ int32) error {
		if name == "slow" {
			<-release
		}
		scaled <- name
		return nil
	}, func(string) int { return 0 }, WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	a.Register("slow")
	a.Register("fast")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	a.Add("slow", 1)
	a.Add("fast", 1)
	select {
	case name := <-scaled:
		if name != "fast" {
			t.Fatalf("%s scaled first while slow's API call hangs", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("fast was not scaled while slow's scale was outstanding")
	}
	close(release)
	if name := <-scaled; name != "slow" {
		t.Fatalf("then %s, want slow", name)
	}
	cancel()
	<-done
}
