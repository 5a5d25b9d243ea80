// Package repotest finds, for tests, the repository root and the shared
// material that lives beside a clone (../shared: the corpus, the reference
// pipeline, the seed rule). A fresh clone has no ../shared, so tests that
// need it skip with a message rather than fail.
package repotest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// root walks up from the working directory to the folder holding go.mod.
func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Root is the repository root; the test fails without one.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := root()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// SharedPath is ../shared/rel beside the repository root, with the error
// of looking it up (os.ErrNotExist and the like when it is absent).
func SharedPath(rel string) (string, error) {
	dir, err := root()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "..", "shared", rel)
	_, err = os.Stat(p)
	return p, err
}

// Shared is ../shared/rel beside the repository root; the test is skipped
// with a message when it is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p, err := SharedPath(rel)
	if err != nil {
		t.Skipf("%s not present (%v): it lives in ../shared beside the clone", rel, err)
	}
	return p
}
