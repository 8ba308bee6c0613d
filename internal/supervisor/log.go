package supervisor

import (
	"os"
	"strings"
)

// LogTail returns the last n lines of a log file, indented, for error
// messages. A crash's first lines say why, so from a Go panic or fatal
// error on it returns up to 4n lines starting there.
func LogTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	return Tail(string(data), n)
}

// Tail is LogTail of a log's text.
func Tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
			lines = lines[i:min(i+4*n, len(lines))]
			n = 4 * n
			break
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
