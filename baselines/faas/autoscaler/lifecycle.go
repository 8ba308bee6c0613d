package autoscaler

import "time"

// lifecycle is the part of Knative's PodAutoscaler reconciler that decides
// whether the decider's wish may be applied (kpa/scaler.go, handleScaleToZero),
// reduced to what matters with the activator always in the request path.
type lifecycle struct {
	registered    time.Time
	activeSince   time.Time // PA Active=True since (ready pods seen)
	inactiveSince time.Time // PA Active=False since (deactivated at desired 0)
}

// gate returns the scale to apply given the decider's desired scale, the
// ready pods and the scale last applied, and whether to apply it at all.
func (l *lifecycle) gate(c Config, now time.Time, desired, ready, current int32) (int32, bool) {
	if ready > 0 && l.activeSince.IsZero() && l.inactiveSince.IsZero() {
		l.activeSince = now
	}
	if current == 0 && ready == 0 {
		l.activeSince = time.Time{}
	}
	if c.Dirigent {
		return l.dirigent(c, now, desired, current)
	}
	if desired > 0 {
		if !l.inactiveSince.IsZero() {
			// Reactivating: the PA is Active=Unknown until pods are ready.
			l.inactiveSince = time.Time{}
			l.activeSince = time.Time{}
		}
		return desired, true
	}
	switch {
	case !l.inactiveSince.IsZero():
		// Active=False. The activator is in path since registration
		// (target-burst-capacity −1), so the grace period counts from then;
		// Knative's first check is the (longer) time spent inactive.
		if now.Sub(l.inactiveSince) >= c.ScaleToZeroGrace || now.Sub(l.registered) >= c.ScaleToZeroGrace {
			return 0, true
		}
		return current, false
	case !l.activeSince.IsZero():
		// Active=True: stay at one pod until active for a stable window,
		// then deactivate without scaling in this round.
		if now.Sub(l.activeSince) >= c.StableWindow {
			l.activeSince, l.inactiveSince = time.Time{}, now
			return current, false
		}
		return min(current, 1), true
	default:
		// Activating (pods asked for, none ready) or already at zero:
		// Knative waits for activation to succeed or time out.
		return current, current == 0
	}
}

// dirigent applies Dirigent's rules: desired zero at once, but no scaling
// down during the first stable window after registration.
func (l *lifecycle) dirigent(c Config, now time.Time, desired, current int32) (int32, bool) {
	if desired < current && now.Sub(l.registered) < c.StableWindow {
		return current, false
	}
	return desired, true
}
