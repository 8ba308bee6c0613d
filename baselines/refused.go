package baselines

// RefusedError marks a refusal: a run that did not start, or stopped before
// measuring, because a system or the cluster's provider cannot do what was
// asked (a podless system's bursts, a provider that cannot give the sandbox
// delay), as opposed to something that failed on the way. kdbench exits
// with its own status for it, so scripts (the multi-host e2e) can tell the
// two apart without reading messages.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// AsRefusal marks err as a refusal (nil stays nil).
func AsRefusal(err error) error {
	if err == nil {
		return nil
	}
	return &RefusedError{Err: err}
}

// IsRefusal tells whether err is a refusal and nothing else: a refusal
// itself, something wrapping one, or errors joined that are all refusals.
// A refusal joined with a real error (a cluster that does not answer) is
// not one: the run failed.
func IsRefusal(err error) bool {
	for err != nil {
		if _, ok := err.(*RefusedError); ok {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			errs := u.Unwrap()
			for _, e := range errs {
				if !IsRefusal(e) {
					return false
				}
			}
			return len(errs) > 0
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return false
		}
	}
	return false
}
