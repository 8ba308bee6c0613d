package baselines

import "strings"

// Slug spells a system name for Kubernetes names and file names, the one
// way every experiment does: lower case, "+" as "-plus", anything but
// letters, digits and "-" as "-" (kd+ → kd-plus, dr-k8s+ → dr-k8s-plus).
func Slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r == '+':
			b.WriteString("-plus")
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
