package replay

// FrontEndFacts say what a trace result's front-end was made of: which of
// the system's components ran as the real thing and which kdbench modelled,
// so that a result of a model is never read as one of the system it models.
type FrontEndFacts struct {
	// Knative is the Knative Serving the system runs ("v0.42.2 (Knative
	// Serving 1.15)"), "model" for kdbench's model of Knative's front-end,
	// "" for a system that is not Knative.
	Knative string `json:"knative,omitempty"`
	// Over is the cluster manager under the front-end (k8s, kd, …), "" if
	// it has none.
	Over string `json:"over,omitempty"`
	// Real and Modelled are the components, each "name: what ran" (a real
	// one's module and version; what stands in for a modelled one, or that
	// it is absent).
	Real     []string `json:"real"`
	Modelled []string `json:"modelled"`
}

// Describer is a FrontEnder that states its FrontEndFacts; RunTrial writes
// them into the result's summary (its manifest). Every FaaS system kdbench
// builds in describes itself (cmd/kdbench's tests check).
type Describer interface {
	FrontEndFacts() FrontEndFacts
}

// factsOf are s's facts, or a record that it stated none.
func factsOf(s any) *FrontEndFacts {
	if d, ok := s.(Describer); ok {
		f := d.FrontEndFacts()
		return &f
	}
	return &FrontEndFacts{Modelled: []string{"unknown: the system does not state its components (replay.Describer)"}}
}
