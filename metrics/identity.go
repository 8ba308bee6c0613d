package metrics

import (
	"regexp"
	"strings"
)

// Metric names one of the two per-function trace metrics.
type Metric string

const (
	// Slowdown is per invocation responseTime / requestedDuration (CSV) or
	// (Delay + actual runtime) / requested runtime (log).
	Slowdown Metric = "slowdown"
	// SchedulingLatency is per invocation (responseTime − actualDuration)
	// in ms (CSV) or Delay (log), in milliseconds.
	SchedulingLatency Metric = "scheduling_latency_ms"
)

// Metrics lists both, in the order they are printed.
var Metrics = []Metric{Slowdown, SchedulingLatency}

// instanceSuffix is the suffix plot.py (and Dirigent's script) strips from
// a CSV instance to group scheduling latency: "-<n>" or
// "-<n>-<m>-deployment-<pod suffix>".
var instanceSuffix = regexp.MustCompile(`(-[0-9]+(-[0-9]+-deployment-[0-9A-Za-z-]+)?)$`)

// FunctionOf is the function a CSV row's instance belongs to, for metric m.
// Names of three generations are recognised, so that every function is its
// own group whichever wrote the file:
//
//   - the current loader, "trace-func-<i>-<rand>" (and its Knative pods
//     "trace-func-<i>-<rand>-00001-deployment-<rs>-<pod>"): "trace-func-<i>".
//     plot.py's split at the first '-' would put every function in one
//     group "trace"; this is the one place kdbench departs from its rules.
//   - kdbench's replay, "fn<row>-<hash prefix>": "fn<row>".
//   - anything else, as plot.py does: for slowdown the instance up to its
//     first '-' (the artifact's loader: "t<hash18>-<n>" and its pods
//     "t<hash18>-<n>-00001-deployment-<rs>-<pod>" give "t<hash18>"); for
//     scheduling latency the instance with instanceSuffix removed (the same
//     "t<hash18>").
//
// An empty instance is no function: pandas reads it as NaN and groupby
// drops it.
func FunctionOf(instance string, m Metric) string {
	if isNA(instance) {
		return ""
	}
	if rest, ok := strings.CutPrefix(instance, "trace-func-"); ok {
		if n := leadingDigits(rest); n > 0 && (n == len(rest) || rest[n] == '-') {
			return "trace-func-" + rest[:n]
		}
	}
	if rest, ok := strings.CutPrefix(instance, "fn"); ok {
		if n := leadingDigits(rest); n > 0 && n < len(rest) && rest[n] == '-' {
			return "fn" + rest[:n]
		}
	}
	if m == Slowdown {
		k, _, _ := strings.Cut(instance, "-")
		return k
	}
	return instanceSuffix.ReplaceAllString(instance, "")
}

func leadingDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// isNA says whether pandas' read_csv reads the cell as NaN (its default
// na_values).
func isNA(s string) bool {
	switch s {
	case "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
		"1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null":
		return true
	}
	return false
}
