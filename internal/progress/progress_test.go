package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLineBarThrottlesAndFinishes(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "k8s size 3 rep 0", 3)
	lb, ok := b.(*lineBar)
	require.True(t, ok, "a buffer is not a terminal: plain lines")
	lb.every = time.Hour
	b.Set(1) // first update prints
	b.Set(2) // throttled
	b.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	require.True(t, strings.HasPrefix(lines[0], "k8s size 3 rep 0: 1/3 ("), lines[0])
	require.True(t, strings.HasPrefix(lines[1], "k8s size 3 rep 0: 2/3 ("), lines[1])
}
