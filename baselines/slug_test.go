package baselines

import "testing"

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"k8s": "k8s", "kd+": "kd-plus", "dr-kd+": "dr-kd-plus", "kd_insecure": "kd-insecure", "Kn-KD": "kn-kd", "a b/c": "a-b-c",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
