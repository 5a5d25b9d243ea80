package normalizer

import "strconv"

// Winlogbeat renders level, opcode and task through the provider's
// manifest. (The lookups return any so that the constant names are stored
// in the document without an allocation each.) An EVTX file carries only the numbers, so the names come from
// the standard Windows values (winmeta.xml) and, for Sysmon, from its
// manifest; a value neither defines is left out, as Winlogbeat leaves out
// what it cannot render.

// levelName is log.level: Winlogbeat's rendered level, lower-cased.
// Level 0 (LogAlways) is rendered "Information", as Windows does.
func levelName(level uint8) (any, bool) {
	switch level {
	case 0, 4:
		return "information", true
	case 1:
		return "critical", true
	case 2:
		return "error", true
	case 3:
		return "warning", true
	case 5:
		return "verbose", true
	}
	return nil, false
}

// opcodeName is winlog.opcode for the standard opcodes.
func opcodeName(opcode uint8) (any, bool) {
	switch opcode {
	case 0:
		return "Info", true
	case 1:
		return "Start", true
	case 2:
		return "Stop", true
	case 3:
		return "DCStart", true
	case 4:
		return "DCStop", true
	case 5:
		return "Extension", true
	case 6:
		return "Reply", true
	case 7:
		return "Resume", true
	case 8:
		return "Suspend", true
	case 9:
		return "Send", true
	case 240:
		return "Receive", true
	}
	return nil, false
}

// sysmonTask is winlog.task for Sysmon events: the task names of Sysmon's
// manifest.
func sysmonTask(task uint32) (any, bool) {
	switch task {
	case 1:
		return "Process Create (rule: ProcessCreate)", true
	case 2:
		return "File creation time changed (rule: FileCreateTime)", true
	case 3:
		return "Network connection detected (rule: NetworkConnect)", true
	case 4:
		return "Sysmon service state changed", true
	case 5:
		return "Process terminated (rule: ProcessTerminate)", true
	case 6:
		return "Driver loaded (rule: DriverLoad)", true
	case 7:
		return "Image loaded (rule: ImageLoad)", true
	case 8:
		return "CreateRemoteThread detected (rule: CreateRemoteThread)", true
	case 9:
		return "RawAccessRead detected (rule: RawAccessRead)", true
	case 10:
		return "Process accessed (rule: ProcessAccess)", true
	case 11:
		return "File created (rule: FileCreate)", true
	case 12:
		return "Registry object added or deleted (rule: RegistryEvent)", true
	case 13:
		return "Registry value set (rule: RegistryEvent)", true
	case 14:
		return "Registry object renamed (rule: RegistryEvent)", true
	case 15:
		return "File stream created (rule: FileCreateStreamHash)", true
	case 16:
		return "Sysmon config state changed", true
	case 17:
		return "Pipe Created (rule: PipeEvent)", true
	case 18:
		return "Pipe Connected (rule: PipeEvent)", true
	case 19:
		return "WmiEventFilter activity detected (rule: WmiEvent)", true
	case 20:
		return "WmiEventConsumer activity detected (rule: WmiEvent)", true
	case 21:
		return "WmiEventConsumerToFilter activity detected (rule: WmiEvent)", true
	case 22:
		return "Dns query (rule: DnsQuery)", true
	case 23:
		return "File Delete archived (rule: FileDelete)", true
	case 24:
		return "Clipboard changed (rule: ClipboardChange)", true
	case 25:
		return "Process Tampering (rule: ProcessTampering)", true
	case 26:
		return "File Delete logged (rule: FileDeleteDetected)", true
	case 27:
		return "File Block Executable (rule: FileBlockExecutable)", true
	case 28:
		return "File Block Shredding (rule: FileBlockShredding)", true
	case 29:
		return "File Executable Detected (rule: FileExecutableDetected)", true
	case 255:
		return "Error report", true
	}
	return nil, false
}

// Keywords Winlogbeat renders for every provider, from winmeta.xml.
const (
	keywordAuditFailure = 0x10000000000000
	keywordAuditSuccess = 0x20000000000000
	keywordClassic      = 0x80000000000000 // win:EventlogClassic: events of classic event log providers
)

// keywords sets winlog.keywords and event.outcome from the keywords
// winmeta.xml names for every provider, as Winlogbeat does: "Audit
// Success" is outcome success, "Audit Failure" failure, and "Classic"
// marks the events of classic (pre-manifest) providers such as Windows
// PowerShell's and the Service Control Manager's. Other keywords are named
// by each provider's manifest, which an EVTX file does not carry; they are
// left out.
func (n *Normalizer) keywords(kw string) {
	if len(kw) < 3 || kw[0] != '0' || (kw[1] != 'x' && kw[1] != 'X') {
		return
	}
	v, err := strconv.ParseUint(kw[2:], 16, 64)
	if err != nil {
		return
	}
	switch {
	case v&keywordAuditFailure != 0:
		n.rec.setConsts(kWinlogKeywords, "Audit Failure")
		n.rec.setConst(kEventOutcome, "failure")
	case v&keywordAuditSuccess != 0:
		n.rec.setConsts(kWinlogKeywords, "Audit Success")
		n.rec.setConst(kEventOutcome, "success")
	}
	if v&keywordClassic != 0 {
		if n.rec.has(kWinlogKeywords) {
			l := &n.rec.lists[kWinlogKeywords]
			l.consts = append(l.consts, "Classic")
		} else {
			n.rec.setConsts(kWinlogKeywords, "Classic")
		}
	}
}
