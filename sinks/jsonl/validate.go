package jsonl

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"github.com/weft-dev/weft/internal/confkey"
)

// Validate reports every problem New would stop on, each with its key
// (confkey): a mode that is not an octal permission or is given for
// standard output, and a path whose folder does not exist or that is a
// folder itself. It creates nothing.
func (c Config) Validate() error {
	var errs []error
	stdout := c.Path == "" || c.Path == "-"
	if c.Mode != "" {
		if stdout {
			errs = append(errs, confkey.Errorf("mode", "applies only to a file path, not standard output"))
		} else if m, err := strconv.ParseUint(c.Mode, 8, 32); err != nil || m > 0o777 {
			errs = append(errs, confkey.Errorf("mode", "%q is not an octal permission such as 0640", c.Mode))
		}
	}
	if !stdout {
		if fi, err := os.Stat(c.Path); err == nil && fi.IsDir() {
			errs = append(errs, confkey.Errorf("path", "%s is a folder; give a file in it", c.Path))
		} else if errors.Is(err, os.ErrNotExist) {
			dir := filepath.Dir(c.Path)
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				errs = append(errs, confkey.Errorf("path", "folder %s does not exist (the sink creates the file, not its folder)", dir))
			}
		}
	}
	return errors.Join(errs...)
}
