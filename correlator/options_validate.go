package correlator

import (
	"errors"

	"github.com/weft-dev/weft/internal/confkey"
)

// Validate reports every setting of the options that cannot work, each
// with its key in weft.yaml's correlator section (confkey).
func (o Options) Validate() error {
	var errs []error
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"lateness", int64(o.Lateness)}, {"idle_timeout", int64(o.IdleTimeout)},
		{"max_pending", int64(o.MaxPending)}, {"max_buffered", int64(o.MaxBuffered)},
	} {
		if f.v < 0 {
			errs = append(errs, confkey.Errorf(f.key, "must not be negative"))
		}
	}
	return errors.Join(errs...)
}
