package correlator

import (
	"embed"
	"errors"
	"io/fs"
	"path"
)

//go:embed rules/*.toml
var seedFS embed.FS

// SeedRules returns the rules built into the binary: Elastic's "Incoming
// DCOM Lateral Movement with MMC".
func SeedRules() ([]*Rule, error) {
	names, err := fs.Glob(seedFS, "rules/*.toml")
	if err != nil {
		return nil, err
	}
	var rules []*Rule
	var errs []error
	for _, name := range names {
		data, err := seedFS.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := ParseRule(path.Join("embedded", name), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}
