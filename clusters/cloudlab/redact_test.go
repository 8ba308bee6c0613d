package cloudlab

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactor(t *testing.T) {
	const tok = "abcdef.0123456789abcdef"
	r := NewRedactor(tok, "")
	require.Equal(t, "join --token "+redacted+" now", r.String("join --token "+tok+" now"))
	require.Equal(t, "nothing secret", r.String("nothing secret"), "an empty secret must not redact everything")
	require.Nil(t, r.Error(nil))
	plain := errors.New("plain")
	require.Same(t, plain, r.Error(plain))
	require.Equal(t, "bad "+redacted, r.Error(errors.New("bad "+tok)).Error())

	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"whole line", []string{"token " + tok + "\n"}, "token " + redacted + "\n"},
		{"split across writes", []string{"token abc", "def.0123", "456789abcdef and more\n"}, "token " + redacted + " and more\n"},
		{"unterminated tail flushed on close", []string{"a\nb " + tok[:5], tok[5:]}, "a\nb " + redacted},
		{"two lines", []string{tok + "\n" + tok + "\n"}, redacted + "\n" + redacted + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			w := r.Writer(&b)
			for _, s := range tc.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				require.Equal(t, len(s), n)
			}
			require.NoError(t, w.Close())
			require.Equal(t, tc.want, b.String())
		})
	}
}

func TestBootstrapToken(t *testing.T) {
	format := regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	seen := map[string]bool{}
	for range 200 {
		tok := newBootstrapToken()
		require.Regexp(t, format, tok)
		require.False(t, seen[tok], "token repeated")
		seen[tok] = true
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 2}
	_, _ = tb.Write([]byte("one\ntwo\nthr"))
	_, _ = tb.Write([]byte("ee\nfour"))
	require.Equal(t, "two\nthree\nfour", tb.String())
}
