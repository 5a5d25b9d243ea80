// Command gen writes synthetic Sysmon EVTX scenarios and their manifests:
// the fixtures in testdata/evtx (testdata/evtx/README.md gives the command
// line of each) and the benchmark corpus (just bench-corpus). The EVTX
// writer is package evtxwrite, Sysmon's event layouts package sysmon, and
// the hosts, background activity, attacks and near-misses package
// scenario; go run ./testdata/gen -h lists the flags.
package main
