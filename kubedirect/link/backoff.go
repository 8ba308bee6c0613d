package link

import (
	"math/rand/v2"
	"time"
)

// Backoff yields exponentially growing, jittered reconnect delays.
type Backoff struct {
	Initial, Max time.Duration
	next         time.Duration
}

// Next returns the next delay: uniformly in [d/2, d] where d doubles from
// Initial up to Max.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.Initial
	}
	d := b.next
	b.next = min(2*b.next, b.Max)
	return d/2 + rand.N(d/2+1)
}

// Reset starts over after a successful connection.
func (b *Backoff) Reset() { b.next = 0 }
