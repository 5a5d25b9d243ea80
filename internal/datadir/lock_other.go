//go:build !unix && !windows

package datadir

import "os"

// Systems without file locks (wasm, plan9) run one weft per directory on
// trust.
func lock(*os.File) (bool, error) { return false, nil }

func unlock(*os.File) error { return nil }
