// Package slack is the Slack incoming-webhook sink. It renders an alert as
// a Block Kit message an on-call responder can act on from a phone: what
// fired and how bad, on which host, from which remote peer, which process
// started which command, the MITRE ATT&CK techniques and the first steps
// of the rule's investigation guide. Everything taken from events is
// escaped, so attacker-controlled text cannot mention channels or forge
// links.
package slack
