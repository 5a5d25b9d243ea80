// Package sysmon lays out Sysmon events as Windows writes them to the
// Microsoft-Windows-Sysmon/Operational log: the System template every
// manifest-based provider gets (provider, event id, version, level, task,
// opcode, keywords, time, record id, correlation, execution, channel,
// computer, user SID, with the substitution numbers and types Windows
// uses) and, nested in it, one EventData template per event id whose
// fields carry the types of Sysmon's manifest: GUIDs as GUID, process ids
// as UInt32, ports as UInt16, LogonId as HexInt64, Initiated and the
// IsIpv6 flags as win:Boolean, and UtcTime as the string Sysmon formats.
//
// The layouts were read from real Sysmon logs (schema 4.x; event 1 with
// ParentUser, events 5, 7, 11 and 22 with User, as Sysmon 13.30 and later
// write them).
package sysmon
