package trace

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
)

// The streaming accumulator must give exactly what the batch metrics give,
// so that a replay need not hold its records.
func TestAccumulatorMatchesBatch(t *testing.T) {
	timedOut := rec("a-3", "min12.inv9", 1000, 900000, 0)
	timedOut.FunctionTimeout = true
	noRequest := rec("e-1", "min11.inv0", 0, 3000, 1000)
	random := make([]Record, 2000)
	rng := rand.New(rand.NewSource(1))
	for i := range random {
		req := int64(rng.Intn(5000))
		random[i] = rec(fmt.Sprintf("f%d-%d", rng.Intn(40), i), fmt.Sprintf("min%d.inv%d", rng.Intn(30), i),
			req, req+int64(rng.Intn(100000))-500, req)
		random[i].ConnectionTimeout = rng.Intn(50) == 0
	}
	cases := []struct {
		name    string
		records []Record
	}{
		{"none", nil},
		{"hand-made", []Record{
			rec("a-1", "min10.inv0", 1000, 2000, 1000),
			rec("a-2", "min11.inv0", 1000, 8000, 1000),
			rec("a-1", "min9.inv0", 1000, 500000, 1000),
			rec("a-1", "min12.inv0", 1000, 999, 999),
			timedOut, noRequest,
			rec("b-1", "min10.inv0", 1000, 3000, 1000),
			rec("b-1", "min10.inv1", 1000, 10, 10),
			rec("d-x", "sec1.inv0", 1000, 3000, 1000),
		}},
		{"random", random},
	}
	for _, c := range cases {
		for _, warmup := range []int{0, 10} {
			t.Run(fmt.Sprintf("%s/warmup%d", c.name, warmup), func(t *testing.T) {
				a := NewAccumulator(warmup)
				for i := range c.records {
					a.Add(&c.records[i])
				}
				check := func(metric string, got, want PerFunction) {
					if len(want.Functions) == 0 {
						want.Functions = []FunctionValue{}
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s: streaming %+v, batch %+v", metric, got, want)
					}
				}
				check("scheduling latency", a.SchedulingLatency(), SchedulingLatency(c.records, warmup))
				check("slowdown", a.Slowdown(), Slowdown(c.records, warmup))
			})
		}
	}
}
