package normalizer

import (
	"fmt"
	"strings"
)

// powershell applies Elastic's powershell pipeline (Windows PowerShell
// channel: engine and provider lifecycle 400, 403, 600, and pipeline
// execution 800) in the spec's order. The key=value block of param3 (and
// 800's param2) becomes EventData, which the pipeline then maps.
func (n *Normalizer) powershell() {
	d, rec := &n.ed, &n.rec
	code := n.r.EventID
	if code == 800 {
		if v, ok := d.get(sParam2); ok {
			n.kvParam2(v)
		}
	} else if v, ok := d.get(sParam3); ok {
		n.psKeyValues(v)
	}
	rec.setConst(kECSVersion, securityECSVersion)
	d.removeEmpty()
	if task, ok := psClassicTask(n.r.Task); ok && n.r.Provider == psClassicProvider {
		// Winlogbeat renders the classic provider's category and sets
		// event.action to it; the pipeline keeps both.
		rec.setConst(kWinlogTask, task)
		rec.setConst(kEventAction, task)
	}
	n.psEventFields(400, 403)
	n.convertLong(sSequenceNumber, kEventSequence)
	n.rename(sHostId, kProcessEntityID)
	n.rename(sHostApplication, kProcessCommandLine)
	n.rename(sHostName, kProcessTitle)
	if v, ok := d.get(sUserId); ok {
		if domain, name, ok := splitUser2(v); ok {
			if domain != "" {
				rec.setStr(kUserDomain, mustache(domain))
			}
			if name != "" {
				rec.setStr(kUserName, mustache(name))
			}
		}
	}
	if name, ok := rec.str(kUserName); ok {
		rec.appendUnique(kRelatedUser, mustache(name))
	}
	n.memberFields()
	n.rename(sNewEngineState, kPowershellEngineNewState)
	n.rename(sPreviousEngineState, kPowershellEnginePreviousState)
	n.rename(sNewProviderState, kPowershellProviderNewState)
	n.rename(sProviderName, kPowershellProviderName)
	n.convertLong(sDetailTotal, kPowershellTotal)
	n.convertLong(sDetailSequence, kPowershellSequence)
	n.rename(sEngineVersion, kPowershellEngineVersion)
	n.rename(sPipelineId, kPowershellPipelineID)
	n.rename(sRunspaceId, kPowershellRunspaceID)
	n.rename(sHostVersion, kPowershellProcessExecutableVersion)
	n.rename(sCommandLine, kPowershellCommandValue)
	n.rename(sCommandPath, kPowershellCommandPath)
	n.rename(sCommandName, kPowershellCommandName)
	n.rename(sCommandType, kPowershellCommandType)
	if code == 800 && !n.invocationDetails(sParam3, true) {
		return
	}
	n.psArgs()
	n.psScriptFile()
	for _, s := range [...]slot{sParam1, sParam2, sParam3, sSequenceNumber, sDetailTotal, sDetailSequence, sUserId} {
		d.remove(s)
	}
}

// powershellOperational applies Elastic's powershell_operational pipeline
// (Microsoft-Windows-PowerShell/Operational: module logging 4103, script
// blocks 4104, their start and end 4105 and 4106) in the spec's order.
func (n *Normalizer) powershellOperational() {
	d, rec := &n.ed, &n.rec
	if n.r.EventID == 4103 {
		if v, ok := d.get(sContextInfo); ok {
			n.contextInfo(v)
		}
	}
	rec.setConst(kECSVersion, securityECSVersion)
	d.removeEmpty()
	if n.r.Provider == psOperationalProvider {
		// Winlogbeat renders the provider's task and opcode names and
		// sets event.action to the task; the pipeline keeps them.
		if task, ok := psOperationalTask(n.r.Task); ok {
			rec.setConst(kWinlogTask, task)
			rec.setConst(kEventAction, task)
		}
		if op, ok := psOperationalOpcode(n.r.Opcode); ok {
			rec.setConst(kWinlogOpcode, op)
		}
	}
	n.psEventFields(4105, 4106)
	n.convertLong(sSequenceNumber, kEventSequence)
	n.rename(sHostID, kProcessEntityID)
	n.rename(sHostApplication, kProcessCommandLine)
	n.rename(sHostName, kProcessTitle)
	if pid, ok := rec.int(kWinlogProcessPID); ok {
		rec.setInt(kProcessPID, pid)
	}
	if sid, ok := rec.str(kWinlogUserIdentifier); ok && sid != "" {
		rec.setStr(kUserID, sid)
	}
	// user.name and user.domain come from winlog.user.name and domain,
	// which Winlogbeat looks up from the SID on the Windows host; an EVTX
	// file does not carry them.
	if v, ok := d.get(sConnectedUser); ok {
		if domain, name, ok := splitUser2(v); ok {
			if domain != "" {
				rec.setStr(kSourceUserDomain, mustache(domain))
			}
			if name != "" {
				rec.setStr(kSourceUserName, mustache(name))
				rec.appendUnique(kRelatedUser, mustache(name))
			}
			if rec.has(kSourceUserDomain) || rec.has(kSourceUserName) {
				n.moveKey(kUserDomain, kDestinationUserDomain)
				n.moveKey(kUserName, kDestinationUserName)
				if v, ok := rec.str(kSourceUserDomain); ok {
					rec.setStr(kUserDomain, v)
				}
				if v, ok := rec.str(kSourceUserName); ok {
					rec.setStr(kUserName, v)
				}
			}
		}
	}
	n.memberFields()
	n.convertLong(sMessageNumber, kPowershellSequence)
	n.convertLong(sMessageTotal, kPowershellTotal)
	n.rename(sShellID, kPowershellID)
	n.rename(sEngineVersion, kPowershellEngineVersion)
	n.rename(sPipelineID, kPowershellPipelineID)
	n.rename(sRunspaceID, kPowershellRunspaceID)
	n.rename(sRunspaceId, kPowershellRunspaceID)
	n.rename(sHostVersion, kPowershellProcessExecutableVersion)
	n.rename(sCommandLine, kPowershellCommandValue)
	n.rename(sCommandPath, kPowershellCommandPath)
	n.rename(sCommandName, kPowershellCommandName)
	n.rename(sCommandType, kPowershellCommandType)
	n.rename(sScriptBlockId, kPowershellFileScriptBlockID)
	if t, ok := d.take(sScriptBlockText); ok {
		tr := javaTrim(t.String())
		if tr != "" {
			rec.setStr(kPowershellFileScriptBlockText, tr)
		}
		// The gsub and fingerprint run on the trimmed field even when
		// trimming left nothing.
		rec.setStr(kPowershellFileScriptBlockHash, scriptBlockHash(tr))
		if st, ok := n.script.scriptBlockStats(tr); ok {
			rec.setFloat(kPowershellFileScriptBlockEntropyBits, st.entropyBits)
			rec.setFloat(kPowershellFileScriptBlockEntropyNormalized, st.entropyNormalized)
			rec.setFloat(kPowershellFileScriptBlockSurprisalStdev, st.surprisalStdev)
			rec.setInt(kPowershellFileScriptBlockLength, st.length)
			rec.setInt(kPowershellFileScriptBlockUniqueSymbols, st.uniqueSymbols)
		}
	}
	if n.r.EventID == 4103 && !n.invocationDetails(sPayload, false) {
		return
	}
	n.psArgs()
	n.psScriptFile()
	for _, s := range [...]slot{sSequenceNumber, sUser, sConnectedUser, sContextInfo, sSeverity, sMessageTotal, sMessageNumber, sPayload} {
		d.remove(s)
	}
}

// psClassicProvider is Windows PowerShell's classic event log provider.
const psClassicProvider = "PowerShell"

// psClassicTask is the name Windows renders for the category (task) of a
// Windows PowerShell event: 400 and 403 are engine lifecycle events, 600
// provider lifecycle, 800 pipeline execution details. Only the categories
// of the events the pipeline maps are named.
func psClassicTask(task uint32) (any, bool) {
	switch task {
	case 4:
		return "Engine Lifecycle", true
	case 6:
		return "Provider Lifecycle", true
	case 8:
		return "Pipeline Execution Details", true
	}
	return nil, false
}

// psClassicTaskNumber is the inverse of psClassicTask; 0 when unknown.
func psClassicTaskNumber(name string) uint32 {
	for t := uint32(4); t <= 8; t++ {
		if v, ok := psClassicTask(t); ok && v == name {
			return t
		}
	}
	return 0
}

// psOperationalProvider writes the PowerShell/Operational channel.
const psOperationalProvider = "Microsoft-Windows-PowerShell"

// psOperationalTask is the name the provider's manifest gives the task of
// the events the pipeline maps (and the console's startup, 40961).
func psOperationalTask(task uint32) (any, bool) {
	switch task {
	case 2:
		return "Execute a Remote Command", true // 4104
	case 102:
		return "Starting Command", true // 4105
	case 103:
		return "Stopping Command", true // 4106
	case 106:
		return "Executing Pipeline", true // 4103
	case 4097:
		return "PowerShell Console Startup", true // 40961, 40962
	}
	return nil, false
}

// psOperationalOpcode is the name the provider's manifest gives its own
// opcodes of those events; the standard ones (Info, Start…) are
// opcodeName's.
func psOperationalOpcode(op uint8) (any, bool) {
	switch op {
	case 15:
		return "On create calls", true // 4104, 4105, 4106
	case 20:
		return "To be used when operation is just executing a method", true // 4103
	}
	return nil, false
}

// psEventFields sets event.kind, event.category and event.type: start for
// the start event ID, end for the end one, info otherwise.
func (n *Normalizer) psEventFields(start, end uint32) {
	rec := &n.rec
	rec.setConst(kEventKind, "event")
	rec.setConsts(kEventCategory, "process")
	switch n.r.EventID {
	case start:
		rec.setConsts(kEventType, "start")
	case end:
		rec.setConsts(kEventType, "end")
	default:
		rec.setConsts(kEventType, "info")
	}
}

// memberFields are the renames of Winlogbeat's translate_sid fields.
func (n *Normalizer) memberFields() {
	n.rename(sMemberUserName, kUserName)
	n.rename(sMemberDomain, kUserDomain)
	if v, ok := n.ed.take(sMemberAccountType); ok {
		n.rec.appendUnique(kUserRoles, v.String())
	}
}

// moveKey moves a set field to another key, as a rename does.
func (n *Normalizer) moveKey(from, to key) {
	rec := &n.rec
	if !rec.has(from) {
		return
	}
	rec.vals[to] = rec.vals[from]
	rec.mark(to)
	rec.set[from/64] &^= 1 << (from % 64)
}

// psArgs splits process.command_line as Windows does.
func (n *Normalizer) psArgs() {
	rec := &n.rec
	if cmd, _ := rec.str(kProcessCommandLine); cmd != "" {
		args := commandLineToArgv(rec.newList(kProcessArgs), cmd)
		rec.setList(kProcessArgs, args)
		rec.setInt(kProcessArgsCount, int64(len(args)))
	}
}

// psScriptFile renames Path to ScriptName and ScriptName to file.path,
// setting file.name, file.directory and file.extension on the way.
func (n *Normalizer) psScriptFile() {
	d, rec := &n.ed, &n.rec
	if _, ok := d.get(sScriptName); !ok {
		if t, ok := d.take(sPath); ok {
			d.put("ScriptName", t)
		}
	}
	t, ok := d.take(sScriptName)
	if !ok {
		return
	}
	path := t.String()
	if len(path) > 1 {
		if i := strings.LastIndexByte(path, '\\'); i >= 0 {
			rec.setStr(kFileName, path[i+1:])
			rec.setStr(kFileDirectory, path[:i])
			if j := strings.LastIndexByte(path, '.'); j >= 0 {
				rec.setStr(kFileExtension, path[j+1:])
			}
		}
	}
	rec.setStr(kFilePath, path)
}

// splitUser2 is the split processor on a backslash when it yields exactly
// two parts.
func splitUser2(v string) (domain, name string, ok bool) { return splitUser(v) }

// psKeyValues is the script that splits param3 of events 400, 403 and 600:
// each "\tKey=" starts a value that runs to the next one, trimmed.
func (n *Normalizer) psKeyValues(p string) {
	key, start := "", -1
	for i := 0; i < len(p); i++ {
		if p[i] != '\t' {
			continue
		}
		j := i + 1
		for j < len(p) && isWordByte(p[j]) {
			j++
		}
		if j == i+1 || j >= len(p) || p[j] != '=' {
			continue
		}
		if start >= 0 {
			n.ed.put(key, plain(javaTrim(p[start:i])))
		}
		key, start = p[i+1:j], j+1
		i = j
	}
	if start >= 0 {
		n.ed.put(key, plain(javaTrim(p[start:])))
	} else {
		n.problem("winlog.event_data.param3: no \"\\tKey=\" in it")
	}
}

// kvParam2 is the kv processor on 800's param2: fields split at "\n\t",
// keys and values split at the first "=" and trimmed of newlines and tabs.
func (n *Normalizer) kvParam2(p string) {
	trim := func(s string) string { return strings.Trim(s, "\n\t") }
	for _, f := range strings.Split(p, "\n\t") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			n.problem(fmt.Sprintf("winlog.event_data.param2: %q is not key=value", f))
			continue
		}
		if k = trim(k); k != "" {
			n.ed.put(k, plain(trim(v)))
		}
	}
}

// isWordByte is [^\s\W]: a letter, digit or underscore.
func isWordByte(c byte) bool {
	return c == '_' || isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// contextInfo is the script that splits 4103's ContextInfo: lines indented
// by eight or more spaces that hold "Key = value" start a value, other
// lines continue it; keys lose their spaces, as the pipeline's next script
// does to every event_data key.
func (n *Normalizer) contextInfo(v string) {
	var key string
	var value strings.Builder
	flush := func() {
		if key == "" {
			return
		}
		name := key
		if strings.IndexByte(name, ' ') >= 0 {
			name = strings.ReplaceAll(name, " ", "")
		}
		n.ed.put(name, plain(javaTrim(value.String())))
	}
	for len(v) > 0 {
		line := v
		if i := strings.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if k, val, ok := contextLine(line); ok {
			flush()
			key = k
			value.Reset()
			value.WriteString(val)
			continue
		}
		if key != "" {
			value.WriteByte('\n')
			value.WriteString(line)
		}
	}
	flush()
}

// contextLine matches ^\s{8,}([A-Za-z][A-Za-z0-9 _.\-]*?)\s*[:=](.*)$.
func contextLine(line string) (key, value string, ok bool) {
	i := 0
	for i < len(line) && isJavaSpace(line[i]) {
		i++
	}
	if i < 8 || i == len(line) {
		return "", "", false
	}
	c := line[i]
	if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return "", "", false
	}
	start := i
	for j := i + 1; j < len(line); j++ {
		c := line[j]
		if c == ':' || c == '=' {
			k := line[start:j]
			for len(k) > 0 && isJavaSpace(k[len(k)-1]) {
				k = k[:len(k)-1]
			}
			return k, line[j+1:], true
		}
		keyChar := isWordByte(c) || c == ' ' || c == '.' || c == '-'
		if keyChar {
			continue
		}
		if !isJavaSpace(c) {
			return "", "", false
		}
		// Whitespace other than a space ends the key: only whitespace may
		// come before the separator.
		for j < len(line) && isJavaSpace(line[j]) {
			j++
		}
		if j < len(line) && (line[j] == ':' || line[j] == '=') {
			k := line[start:j]
			for len(k) > 0 && isJavaSpace(k[len(k)-1]) {
				k = k[:len(k)-1]
			}
			return k, line[j+1:], true
		}
		return "", "", false
	}
	return "", "", false
}

// isJavaSpace is the regex \s: [ \t\n\x0B\f\r].
func isJavaSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
