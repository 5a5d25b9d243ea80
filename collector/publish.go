package collector

import (
	"context"
	"errors"
	"io"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Stdin is the Input path that means standard input (rendered XML).
const Stdin = "-"

// Publish reads each input in turn and publishes its events as raw batches
// on weft.raw.<computer>. Problems inside an input go to report and the
// read goes on; an input that cannot be opened is reported and skipped.
// Only a bus failure or ctx ending stops it, and that is returned.
// stdin is read for the Input named Stdin.
func Publish(ctx context.Context, b *bus.Bus, inputs []Input, stdin io.Reader, opts Options, report ReportFunc) (Stats, error) {
	var total Stats
	out := bus.NewBatcher[*event.Raw](b, "raw")
	var busErr error
	emit := func(r *event.Raw) error {
		if err := out.Add(ctx, bus.Subject(bus.SubjectRaw, r.Computer), r, r.Identity()); err != nil {
			busErr = err
			return err
		}
		return nil
	}
	for _, in := range inputs {
		st, err := Read(ctx, in, stdin, opts, emit, report)
		total.add(st)
		if busErr != nil {
			return total, busErr
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		if err != nil {
			total.Errors++
			if report != nil {
				report(err)
			}
		}
		if err := out.Flush(ctx); err != nil {
			return total, err
		}
	}
	return total, nil
}

// Read reads one input: a file Expand found, or standard input (XML) for
// the Input named Stdin.
func Read(ctx context.Context, in Input, stdin io.Reader, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	if in.Path == Stdin {
		return ReadXML(ctx, stdin, Stdin, opts, emit, report)
	}
	return ReadInput(ctx, in, opts, emit, report)
}

// IsInputError reports whether err is a problem with the input (counted
// and skipped) rather than a failure of weft itself.
func IsInputError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
