package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"

	"github.com/spf13/cobra"
)

// profiles are the --cpuprofile and --memprofile of the commands that do
// the heavy work (hunt, dump, run): pprof files for `go tool pprof`, so a
// slow or large run can be looked into where it happened.
type profiles struct {
	cpuPath, memPath string

	cpu  *os.File
	heap sync.Once
	err  error // of the heap profile
}

type profilesKey struct{}

// profiled gives cmd the profile flags and wraps its RunE so the CPU
// profile covers the whole command and the heap profile is written when it
// ends (unless the command wrote it before, at a better moment: hunt does,
// before its pipeline stops). It returns cmd.
func profiled(cmd *cobra.Command) *cobra.Command {
	p := &profiles{}
	cmd.Flags().StringVar(&p.cpuPath, "cpuprofile", "", "write a CPU profile of the command to this file (go tool pprof)")
	cmd.Flags().StringVar(&p.memPath, "memprofile", "", "write a heap profile to this file when the work is done (go tool pprof; in-use and allocated memory)")
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) (err error) {
		if err := p.start(); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, p.stop()) }()
		c.SetContext(context.WithValue(c.Context(), profilesKey{}, p))
		return run(c, args)
	}
	return cmd
}

// profilesOf returns the profiles of the command running with ctx, or nil.
func profilesOf(ctx context.Context) *profiles {
	p, _ := ctx.Value(profilesKey{}).(*profiles)
	return p
}

func (p *profiles) start() error {
	if p.cpuPath == "" {
		return nil
	}
	f, err := os.Create(p.cpuPath)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	p.cpu = f
	return nil
}

// writeHeap writes the heap profile, once; later calls do nothing. A nil
// p does nothing.
func (p *profiles) writeHeap() error {
	if p == nil || p.memPath == "" {
		return nil
	}
	p.heap.Do(func() {
		f, err := os.Create(p.memPath)
		if err != nil {
			p.err = fmt.Errorf("--memprofile: %w", err)
			return
		}
		runtime.GC() // the in-use figures are those of the last collection
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			f.Close()
			p.err = fmt.Errorf("--memprofile: %w", err)
			return
		}
		if err := f.Close(); err != nil {
			p.err = fmt.Errorf("--memprofile: %w", err)
		}
	})
	return p.err
}

func (p *profiles) stop() error {
	var errs []error
	if p.cpu != nil {
		pprof.StopCPUProfile()
		if err := p.cpu.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--cpuprofile: %w", err))
		}
		p.cpu = nil
	}
	errs = append(errs, p.writeHeap())
	return errors.Join(errs...)
}
