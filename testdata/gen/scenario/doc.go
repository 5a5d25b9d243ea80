// Package scenario synthesizes Sysmon logs of a small Windows domain: N
// hosts over a time span, with background activity at a given rate
// (services.exe starting svchost.exe, the task scheduler and DCOM
// launching their hosts, explorer.exe starting browsers, Office and
// shells, image loads, file creations, DNS queries, and network
// connections in and out), and injected attacks whose alerts it lists in
// a Manifest.
//
// The attack is the one weft's seed rule looks for, "Incoming DCOM Lateral
// Movement with MMC": DCOM activation starts mmc.exe -Embedding, the
// attacker's RPC connection reaches it on a dynamic port (Sysmon records
// the local end in Source*, Initiated false), and within a minute mmc.exe
// starts cmd.exe or powershell.exe. Near-misses are the same story with
// one condition of the rule broken, and must raise nothing.
//
// With Config.Channels it also writes each host's Security, System and
// PowerShell logs, and a domain controller's (winlog.go, winbackground.go),
// with their own background, and Config.WinScenarios injects stories
// into them (winattack.go): attacks that Elastic's Security-log rules
// detect, each listed in the Manifest with the alerts it must raise, and
// near-misses that break one condition of such a rule. They draw from
// their own random streams, so the Sysmon logs stay the same bytes.
//
// Everything is drawn from one seed, host by host, so a scenario is the
// same bytes on every run and every machine, however many goroutines
// write it.
package scenario
