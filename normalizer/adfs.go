package normalizer

import (
	"fmt"
	"strconv"
	"strings"
)

// AD FS writes its audits (1200–1210) to the Security channel under its
// own provider, "AD FS Auditing": the activity id as the first insertion
// string (param1) and an <AuditBase> XML document as the second (param2).
// security_adfs.yml reads that document from winlog._tmp.adfs.audit_base,
// which Elastic Agent fills with a decode_xml (to_lower) of the payload;
// adfs does that decode itself with decodeTaskXML, the same bounded
// decode_xml the scheduled-task events use, and then runs the script.
// winlog._tmp is never written.

const adfsProvider = "AD FS Auditing"

// adfsFields are the leaves of winlog.adfs.
const adfsFields = `winlog.adfs.activity_id winlog.adfs.audit_type winlog.adfs.audit_result
winlog.adfs.failure_type winlog.adfs.error_code winlog.adfs.user_id winlog.adfs.ip_address
winlog.adfs.current_bad_password_count winlog.adfs.relying_party winlog.adfs.claims_provider
winlog.adfs.primary_auth winlog.adfs.mfa_method winlog.adfs.auth_protocol
winlog.adfs.oauth_client_id winlog.adfs.oauth_grant winlog.adfs.network_location
winlog.adfs.endpoint winlog.adfs.user_agent winlog.adfs.mfa_performed`

// adfsEvent says whether the event is one of AD FS's audits.
func adfsEvent(provider string, id uint32) bool {
	return provider == adfsProvider && id >= 1200 && id <= 1210
}

// adfsAction is params.actions.
func adfsAction(id uint32) (string, bool) {
	switch id {
	case 1200:
		return "adfs-token-issued", true
	case 1201:
		return "adfs-token-issuance-failed", true
	case 1202:
		return "adfs-authentication-success", true
	case 1203:
		return "adfs-authentication-failed", true
	case 1204:
		return "adfs-password-change-success", true
	case 1205:
		return "adfs-password-change-failed", true
	case 1206:
		return "adfs-sign-out-success", true
	case 1207:
		return "adfs-sign-out-failed", true
	case 1210:
		return "adfs-extranet-lockout", true
	}
	return "", false
}

// adfsCategorization is the script's event.category and event.type for
// an event with an action.
func adfsCategorization(id uint32) (category, typ string) {
	switch id {
	case 1204, 1205:
		return "iam", "change"
	case 1206, 1207:
		return "authentication", "end"
	case 1210:
		return "authentication", "info"
	}
	return "authentication", "start"
}

// adfsEventKinds are the events security_adfs.yml categorizes, for
// Channels.
func adfsEventKinds() []EventKind {
	var kinds []EventKind
	for id := uint32(1200); id <= 1210; id++ {
		if action, ok := adfsAction(id); ok {
			category, typ := adfsCategorization(id)
			kinds = append(kinds, EventKind{Code: strconv.Itoa(int(id)), Action: action, Category: []string{category}, Type: []string{typ}})
		}
	}
	return kinds
}

// adfsText is the script's text: a map's "#text", trimmed as Java trims,
// absent when empty, "-" or N/A.
func adfsText(v any) (string, bool) {
	if m, ok := v.(map[string]any); ok {
		v = m["#text"]
	}
	if v == nil {
		return "", false
	}
	s := javaTrim(javaString(v))
	if s == "" || s == "-" || strings.EqualFold(s, "N/A") {
		return "", false
	}
	return s, true
}

// adfsCopy is the script's copy: the first value found for target wins.
func adfsCopy(from map[string]any, name string, to map[string]any, target string) {
	if from == nil {
		return
	}
	if v, ok := adfsText(from[name]); ok {
		if _, seen := to[target]; !seen {
			to[target] = v
		}
	}
}

// adfsComponentFields are the component elements the script copies, in
// its order.
var adfsComponentFields = [...][2]string{
	{"userid", "user_id"}, {"relyingparty", "relying_party"}, {"claimsprovider", "claims_provider"},
	{"primaryauth", "primary_auth"}, {"mfamethod", "mfa_method"}, {"authprotocol", "auth_protocol"},
	{"oauthclientid", "oauth_client_id"}, {"oauthgrant", "oauth_grant"},
	{"networklocation", "network_location"}, {"endpoint", "endpoint"},
	{"useragentstring", "user_agent"}, {"ipaddress", "ip_address"},
	{"currentbadpasswordcount", "current_bad_password_count_raw"},
}

// adfsAudit is the script's reading of the decoded <AuditBase>: it fills
// adfs and returns the audit result.
func adfsAudit(audit, adfs map[string]any) (result string, ok bool) {
	for _, f := range [...][2]string{
		{"audittype", "audit_type"}, {"auditresult", "audit_result"}, {"failuretype", "failure_type"},
		{"errorcode", "error_code"}, {"userid", "user_id"}, {"ipaddress", "ip_address"},
		{"currentbadpasswordcount", "current_bad_password_count_raw"},
	} {
		adfsCopy(audit, f[0], adfs, f[1])
	}
	components := taskMap(audit["contextcomponents"])
	var children any
	if components != nil {
		children = components["component"]
	}
	for _, item := range taskList(children) {
		component := taskMap(item)
		if component == nil {
			continue
		}
		for _, f := range adfsComponentFields {
			adfsCopy(component, f[0], adfs, f[1])
		}
		if _, seen := adfs["mfa_performed"]; !seen {
			if p, ok := adfsText(component["mfaperformed"]); ok {
				switch {
				case strings.EqualFold(p, "true") || p == "1":
					adfs["mfa_performed"] = true
				case strings.EqualFold(p, "false") || p == "0":
					adfs["mfa_performed"] = false
				}
			}
		}
	}
	return adfsText(audit["auditresult"])
}

// adfs is security_adfs.yml, run on AD FS's audits 1200–1210. A payload
// that is not XML is reported in error.message, as decode_xml reports it,
// and the rest of the script still runs.
func (n *Normalizer) adfs() {
	id := n.r.EventID
	if !adfsEvent(n.r.Provider, id) || len(n.r.Data) == 0 {
		// No event_data: the script returns at once.
		return
	}
	rec := &n.rec
	adfs := map[string]any{}
	// param1 is a string insertion that AD FS writes as a bare GUID, and
	// Windows renders it so: it is not a GUID-typed value for weft's
	// canonical form to put in braces. Winlogbeat and the script copy it
	// as written.
	if f := n.ed.live("param1"); f != nil && !f.isList && f.value.form == guidForm {
		f.value.form = asIs
	}
	if v, ok := n.rawData("param1"); ok {
		if s, ok := adfsText(v); ok {
			adfs["activity_id"] = s
		}
	}
	if payload, ok := n.rawData("param2"); ok && strings.HasPrefix(javaTrim(payload), "<") {
		decoded, err := decodeTaskXML(payload)
		if err != nil {
			n.problem(fmt.Sprintf("winlog.event_data.param2: not an AD FS audit: %v", err))
		} else if audit := taskMap(decoded["auditbase"]); audit != nil {
			result, ok := adfsAudit(audit, adfs)
			// Keep the Windows event's outcome when it is already populated.
			if ok && !rec.has(kEventOutcome) {
				switch {
				case strings.EqualFold(result, "success"):
					rec.setConst(kEventOutcome, "success")
				case strings.EqualFold(result, "failure"):
					rec.setConst(kEventOutcome, "failure")
				}
			}
		}
	}
	if userID, ok := adfsText(adfs["user_id"]); ok {
		if strings.HasPrefix(userID, "S-1-") {
			rec.setStr(kUserID, userID)
		} else {
			name, domain := userID, ""
			slash := strings.IndexByte(userID, '\\')
			at := strings.LastIndexByte(userID, '@')
			switch {
			case slash > 0 && slash < len(userID)-1:
				domain, name = userID[:slash], userID[slash+1:]
			case at > 0 && at < len(userID)-1:
				domain, name = userID[at+1:], userID[:at]
			}
			rec.setStr(kUserName, name)
			if domain != "" {
				rec.setStr(kUserDomain, domain)
			}
			rec.appendUnique(kRelatedUser, name)
			rec.appendUnique(kRelatedUser, userID)
		}
	}
	if ips, ok := adfsText(adfs["ip_address"]); ok && !rec.has(kSourceIP) {
		for candidate := range strings.SplitSeq(ips, ",") {
			if ip, ok := adfsText(candidate); ok {
				// The convert to type ip drops an address that is not one.
				if _, valid := parseIP(ip); valid {
					rec.setStr(kSourceIP, ip)
				}
				break
			}
		}
	}
	if raw, ok := adfs["current_bad_password_count_raw"]; ok {
		delete(adfs, "current_bad_password_count_raw")
		if s, ok := adfsText(raw); ok {
			// Long.parseLong: a counter that is not a number stays only
			// in the raw XML.
			if c, err := strconv.ParseInt(s, 10, 64); err == nil {
				adfs["current_bad_password_count"] = c
			}
		}
	}
	if action, ok := adfsAction(id); ok {
		category, typ := adfsCategorization(id)
		rec.setConst(kEventAction, action)
		rec.setConsts(kEventCategory, category)
		rec.setConsts(kEventType, typ)
		if !rec.has(kEventKind) {
			rec.setConst(kEventKind, "event")
		}
	}
	if len(adfs) > 0 {
		rec.mark(kWinlogAdfs).kind, rec.vals[kWinlogAdfs].box = vTree, adfs
	}
}
