package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// kdbenchLine finds a kdbench command in a page: a code line or an inline
// code span, up to its end or a comment.
var kdbenchLine = regexp.MustCompile("(?:^|[`\\s/])kdbench ([a-z][^`#\\n]*)")

// TestDocumentedCommandsExist: every `kdbench …` command in the README and
// the docs names a command that exists, with flags it has, so that a
// newcomer copying one does not meet "unknown flag".
func TestDocumentedCommandsExist(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join("..", "..", "README.md"))
	checked := 0
	for _, page := range pages {
		if designs[filepath.Base(page)] {
			continue
		}
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		// A command continued with a trailing backslash is one line.
		text := strings.ReplaceAll(string(data), "\\\n", " ")
		for _, m := range kdbenchLine.FindAllStringSubmatch(text, -1) {
			words := strings.Fields(m[1])
			cmd, rest, err := newRootCmd().Find(words)
			if err != nil || cmd.Name() == "kdbench" {
				continue // prose ("kdbench brings up …"), not a command
			}
			checked++
			for _, w := range rest {
				w = strings.Trim(w, "[]()`,.")
				if w == "--" {
					break // the arguments of another program
				}
				if !strings.HasPrefix(w, "--") {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
				if lookupFlag(cmd, name) == nil {
					t.Errorf("%s: `kdbench %s`: %q has no flag --%s", page, m[1], cmd.CommandPath(), name)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d documented commands found: is the pattern still right?", checked)
	}
}

// designs are pages that describe commands still to be built.
var designs = map[string]bool{"placement.md": true}

func lookupFlag(cmd *cobra.Command, name string) any {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	if f := cmd.InheritedFlags().Lookup(name); f != nil {
		return f
	}
	return nil
}

// TestProviderHelpListsProviders: run and ae name every provider they can use.
func TestProviderHelpListsProviders(t *testing.T) {
	for _, path := range [][]string{{"run"}, {"ae"}} {
		cmd, _, err := newRootCmd().Find(path)
		if err != nil {
			t.Fatal(err)
		}
		usage := cmd.Flags().Lookup("provider").Usage
		for _, p := range []string{"local", "existing", "cloudlab"} {
			if !strings.Contains(usage, p) {
				t.Errorf("kdbench %s --provider help %q does not name %s", path[0], usage, p)
			}
		}
	}
}
