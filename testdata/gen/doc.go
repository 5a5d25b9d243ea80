// Command gen writes synthetic EVTX scenarios and their manifests: the
// fixtures in testdata/evtx (testdata/evtx/README.md gives the command
// line of each), the benchmark corpus (just bench-corpus) and the Windows
// logs TestHuntSecurityRules runs Elastic's rules over. The EVTX writer is
// package evtxwrite, Sysmon's event layouts package sysmon, the Security,
// System and PowerShell layouts package winevt, and the hosts, background
// activity, attacks and near-misses package scenario; README.md describes
// them and go run ./testdata/gen -h lists the flags.
package main
