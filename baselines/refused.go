package baselines

import "errors"

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

// IsRefusal tells whether err is, or wraps, a refusal.
func IsRefusal(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
