package results

import "fmt"

// Verdict says whether a self-check found the harness healthy.
type Verdict string

const (
	// VerdictOK: the value is within its threshold.
	VerdictOK Verdict = "ok"
	// VerdictWarn: the harness, not the system under test, may have been
	// the bottleneck; the run's numbers are suspect.
	VerdictWarn Verdict = "warn"
)

// Names of the standard self-checks, so every collector reports the same
// quantity under the same name. Units are in the names, Prometheus style.
const (
	// CheckClientThrottle: total time the harness's client-go rate limiter
	// made requests wait during a repetition.
	CheckClientThrottle = "client_throttle_wait_seconds"
	// CheckWatchLag: p99 over events of receive time minus event time.
	CheckWatchLag = "watch_lag_p99_seconds"
	// CheckNodeAgentLag: p99 over pods of (bound → running) minus the
	// configured sandbox delay.
	CheckNodeAgentLag = "nodeagent_lag_p99_seconds"
	// CheckDroppedEvents: watch events lost (gaps, relists, "too old").
	CheckDroppedEvents = "watch_dropped_events_total"
)

// SelfCheck is one measurement of the harness's own health, such as the
// total client-side rate-limiter wait, the worst watch lag, the node
// agent's lag beyond its configured delay, or the number of dropped watch
// events. Higher values are worse. A check without a repetition (zero
// RepID) covers the whole run.
type SelfCheck struct {
	Name string `json:"name"`
	RepID
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit"`
	Verdict   Verdict `json:"verdict"`
	// Detail says what the value means or where to look.
	Detail string `json:"detail,omitempty"`
}

// NewSelfCheck builds a check and its verdict: warn when value > threshold.
func NewSelfCheck(id RepID, name, unit string, value, threshold float64, detail string) SelfCheck {
	v := VerdictOK
	if value > threshold {
		v = VerdictWarn
	}
	return SelfCheck{Name: name, RepID: id, Value: value, Threshold: threshold, Unit: unit, Verdict: v, Detail: detail}
}

func (c SelfCheck) String() string {
	where := "run"
	if c.System != "" {
		where = c.RepID.String()
	}
	s := fmt.Sprintf("%s: %s = %g %s (threshold %g): %s", where, c.Name, c.Value, c.Unit, c.Threshold, c.Verdict)
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// selfChecksFile is selfchecks.json.
type selfChecksFile struct {
	SchemaVersion int         `json:"schemaVersion"`
	Checks        []SelfCheck `json:"checks"`
}
