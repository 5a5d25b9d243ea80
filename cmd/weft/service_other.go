//go:build !windows

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// serviceCmd exists on every system so that a config or a script written
// for Windows fails with a clear message elsewhere.
func (a *app) serviceCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "service",
		Short:              "Run weft run as a Windows service (Windows only)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("weft service manages a Windows service and works on Windows only; elsewhere run weft run under systemd or another supervisor")
		},
	}
}
