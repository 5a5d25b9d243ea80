package main

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/correlator"
	"github.com/weft-dev/weft/correlator/sigma"
)

// Sigma rules load from the same --rules folders as Elastic's TOML rules
// (correlator.LoadRulesWith); these flags choose which of them run.

// sigmaConfig is rules.sigma in weft.yaml.
type sigmaConfig struct {
	// Status lists the Sigma statuses to run (default stable, test,
	// experimental).
	Status []string `yaml:"status"`
	// Level is the lowest Sigma level to run (default: all).
	Level string `yaml:"level"`
}

// sigmaFlags registers --sigma-status and --sigma-level.
func (a *app) sigmaFlags(fl *pflag.FlagSet) {
	fl.StringSliceVar(&a.sigma.Statuses, "sigma-status", nil,
		"Sigma rule statuses to run (default stable,test,experimental; also deprecated, unsupported)")
	fl.StringVar(&a.sigma.MinLevel, "sigma-level", "", "lowest Sigma level to run: informational, low, medium, high or critical (default all)")
}

// useSigmaConfig takes rules.sigma from the config file where the flags
// did not choose.
func (a *app) useSigmaConfig(c sigmaConfig) {
	if len(a.sigma.Statuses) == 0 {
		a.sigma.Statuses = c.Status
	}
	if a.sigma.MinLevel == "" {
		a.sigma.MinLevel = c.Level
	}
}

// ruleChecks checks rule files: one check per TOML file, one per rule of a
// Sigma file. The Sigma files are checked together, as they load: a
// correlation may use the rules of another file.
func (a *app) ruleChecks(files []string) []correlator.RuleCheck {
	checks := make([][]correlator.RuleCheck, len(files))
	var sigmaFiles []correlator.SigmaFile
	for i, file := range files {
		data, err := os.ReadFile(file)
		switch {
		case err != nil:
			checks[i] = []correlator.RuleCheck{{Path: file, Err: err}}
		case correlator.IsSigmaFile(file):
			sigmaFiles = append(sigmaFiles, correlator.SigmaFile{Path: file, Data: data})
		default:
			checks[i] = []correlator.RuleCheck{correlator.CheckRule(file, data)}
		}
	}
	bySigmaFile := map[string][]correlator.RuleCheck{}
	for _, c := range correlator.CheckSigmaFiles(sigmaFiles, a.sigma) {
		bySigmaFile[c.Path] = append(bySigmaFile[c.Path], c)
	}
	var out []correlator.RuleCheck
	for i, file := range files {
		if checks[i] == nil {
			checks[i] = bySigmaFile[file]
		}
		out = append(out, checks[i]...)
	}
	return out
}

// sigmaLacks names what a Sigma rule that does not compile lacks: the log
// source, modifier, placeholder or correlation weft does not support; ""
// for any other error.
func sigmaLacks(err error) string {
	var ue *sigma.UnsupportedError
	var le *sigma.LogSourceError
	switch {
	case errors.As(err, &ue):
		return ue.Kind + " " + ue.What
	case errors.As(err, &le):
		return "log source " + le.LogSource.String()
	}
	return ""
}

// sigmaFileRule is the rule of a Sigma file named on the command line
// (rules test): its first rule, with the file's filters applied.
// Whatever its status or level: it was named.
func (a *app) sigmaFileRule(ctx context.Context, path string) (*correlator.Rule, error) {
	all := []string{"stable", "test", "experimental", "deprecated", "unsupported"}
	rules, errs := correlator.LoadRulesWith(ctx, correlator.LoadOptions{Statuses: all, Sigma: a.sigma.Sigma}, path)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rules) == 0 {
		return nil, errors.New(path + ": no Sigma rule")
	}
	return rules[0], nil
}

// sigmaSelection is the app's choice of Sigma rules (flags, then config).
type sigmaSelection = correlator.LoadOptions

// sigmaFiles reports whether the rule paths hold a Sigma file, so that a
// normalizer started on its own (weft normalize) keeps the raw fields the
// correlators' Sigma rules read.
func sigmaFiles(paths []string) bool {
	files, _ := correlator.RuleFiles(paths...)
	for _, f := range files {
		if correlator.IsSigmaFile(f) {
			return true
		}
	}
	return false
}
