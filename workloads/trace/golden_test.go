package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata/golden were printed by the InVitro loader itself
// (github.com/vhive-serverless/loader at f2113a7e, 2025-03-01), not by
// kdbench: a throw-away program outside this repository, built in a checkout
// of the loader with its module dependencies, called
//
//	fns := trace.NewAzureParser(dir, minutes).Parse()
//	sg := generator.NewSpecificationGenerator(seed)
//	for _, f := range fns { s := sg.GenerateInvocationData(f, dist, shift, granularity); ... }
//
// (the calls of the loader's runTraceMode and Driver.GenerateSpecification,
// with dist/shift mapped from the IATDistribution string as its
// parseIATDistribution does) and printed each function's IAT[i] with
// strconv.FormatFloat(v, 'f', -1, 64) and RuntimeSpecification[i] as
// hashFunction,index,iatUs,runtimeMs,memoryMiB. Only its output is committed.
// The file name encodes trace, IAT distribution, [granularity,] minutes and seed.
var goldenCases = []struct {
	file  string
	trace string
	opts  Options
}{
	{"example_exponential_m30_s42", exampleDir, Options{Minutes: 30, IAT: Exponential, Seed: 42}},
	{"example_exponential_shift_m10_s42", exampleDir, Options{Minutes: 10, IAT: ExponentialShift, Seed: 42}},
	{"example_uniform_m10_s7", exampleDir, Options{Minutes: 10, IAT: Uniform, Seed: 7}},
	{"example_uniform_shift_m10_s42", exampleDir, Options{Minutes: 10, IAT: UniformShift, Seed: 42}},
	{"example_equidistant_m10_s42", exampleDir, Options{Minutes: 10, IAT: Equidistant, Seed: 42}},
	{"example_exponential_second_m60_s42", exampleDir, Options{Minutes: 60, IAT: Exponential, Granularity: Second, Seed: 42}},
	{"edge_exponential_m12_s42", edgeDir, Options{Minutes: 12, IAT: Exponential, Seed: 42}},
	{"edge_exponential_m5_s42", edgeDir, Options{Minutes: 5, IAT: Exponential, Seed: 42}},
	{"edge_exponential_shift_m12_s1", edgeDir, Options{Minutes: 12, IAT: ExponentialShift, Seed: 1}},
	{"edge_uniform_shift_m12_s42", edgeDir, Options{Minutes: 12, IAT: UniformShift, Seed: 42}},
	{"edge_equidistant_m12_s42", edgeDir, Options{Minutes: 12, IAT: Equidistant, Seed: 42}},
	{"edge_uniform_second_m12_s0", edgeDir, Options{Minutes: 12, IAT: Uniform, Granularity: Second, Seed: 0}},
}

const (
	exampleDir = "../../../shared/testdata/loader-trace-example"
	edgeDir    = "testdata/edge"
)

func TestPlanMatchesLoaderGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "golden", tc.file+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			tr := mustLoad(t, tc.trace)
			g, err := NewGenerator(tr, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WritePlan(&got, g); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("line %d differs from the loader's:\n got %s\nwant %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("got %d lines, the loader printed %d", len(gl), len(wl))
			}
		})
	}
}

func mustLoad(t testing.TB, dir string) *Trace {
	t.Helper()
	tr, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
