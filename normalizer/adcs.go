package normalizer

import (
	"strconv"
	"strings"
)

// Active Directory Certificate Services audits its requests (4868–4889)
// on the Security channel under Microsoft-Windows-Security-Auditing.
// security_adcs.yml, run after security_standard.yml for those events,
// rebuilds winlog.adcs.request from RequestId, Disposition, Requester,
// Attributes and ExtensionName; adcs is that pipeline. Its _temp_adcs is
// never written: the parsed values go straight to the overlay. The
// pipeline's limits are in Java chars (UTF-16 units), so they are counted
// here the same way (javaLen).

// The limits of _temp_adcs.limits.
const (
	adcsAttributesChars = 16384
	adcsPhysicalLines   = 128
	adcsLineChars       = 4096
	adcsKeyChars        = 128
	adcsValuesPerKey    = 64
	adcsSANComponents   = 64
)

// adcsRequestFields are the leaves of winlog.adcs.request.
const adcsRequestFields = `winlog.adcs.request.id winlog.adcs.request.disposition.code
winlog.adcs.request.disposition.name winlog.adcs.request.requester.domain
winlog.adcs.request.requester.name winlog.adcs.request.attributes.certificate_template
winlog.adcs.request.attributes.request_client_info winlog.adcs.request.attributes.cdc
winlog.adcs.request.attributes.rmd winlog.adcs.request.attributes.ccm
winlog.adcs.request.attributes.san winlog.adcs.request.subject_alt_name.upn
winlog.adcs.request.subject_alt_name.dns winlog.adcs.request.subject_alt_name.uri
winlog.adcs.request.subject_alt_name.sid winlog.adcs.request.extension.name
winlog.adcs.request.extension.oid`

const adcsSIDURIPrefix = "tag:microsoft.com,2022-09-14:sid:"

// adcsOuterKey is params.outer_keys: the attribute names kept, by their
// normalized key.
func adcsOuterKey(k string) (string, bool) {
	switch k {
	case "certificatetemplate":
		return "certificate_template", true
	case "requestclientinfo":
		return "request_client_info", true
	case "cdc", "rmd", "ccm", "san":
		return k, true
	}
	return "", false
}

// adcsEvent says whether security_adcs.yml runs for the event.
func adcsEvent(id uint32) bool { return id >= 4868 && id <= 4889 }

// adcsRequestEvent is the pipeline's ['4886', '4887', '4888', '4889'].
func adcsRequestEvent(id uint32) bool { return id >= 4886 && id <= 4889 }

// adcs is security_adcs.yml.
func (n *Normalizer) adcs() {
	id := n.r.EventID
	if !adcsEvent(id) || n.r.Provider != securityProvider {
		return
	}
	request := map[string]any{}
	switch id {
	case 4868, 4869, 4873, 4874, 4886, 4887, 4888, 4889:
		if v, ok := n.rawData("RequestId"); ok {
			if l, ok := adcsSignedDecimal(v); ok {
				request["id"] = l
			}
		}
	}
	switch id {
	case 4887, 4888, 4889:
		if v, ok := n.rawData("Disposition"); ok {
			if code, ok := adcsSignedDecimal(v); ok {
				disposition := map[string]any{"code": code}
				if name, ok := adcsDispositionName(code); ok {
					disposition["name"] = name
				}
				request["disposition"] = disposition
			}
		}
	}
	var tag string
	if adcsRequestEvent(id) {
		if v, ok := n.rawData("Requester"); ok {
			if domain, name, ok := adcsRequester(v); ok && javaLen(domain) <= 8191 && javaLen(name) <= 1024 {
				request["requester"] = map[string]any{"domain": domain, "name": name}
			}
		}
		if v, ok := n.rawData("Attributes"); ok {
			p := parseADCSAttributes(v)
			if len(p.attributes) > 0 {
				request["attributes"] = p.attributes
			}
			if len(p.san) > 0 {
				request["subject_alt_name"] = p.san
			}
			if p.status == adcsSkippedLimit {
				tag = "adcs_attributes_skipped_limit"
			}
		}
	}
	if id == 4873 {
		if v, ok := n.rawData("ExtensionName"); ok && javaLen(v) <= 8191 && adcsNonblank(v) {
			ext := map[string]any{"name": v}
			if adcsOID(v) {
				ext["oid"] = v
			}
			request["extension"] = ext
		}
	}
	if tag != "" {
		n.rec.setConsts(kTags, tag)
	}
	if len(request) == 0 {
		return
	}
	rec := &n.rec
	rec.mark(kWinlogAdcsRequest).kind, rec.vals[kWinlogAdcsRequest].box = vTree, request
	requester, _ := request["requester"].(map[string]any)
	if requester == nil {
		return
	}
	name, _ := requester["name"].(string)
	if adcsRequestEvent(id) && !rec.has(kUserID) && !rec.has(kUserName) && !rec.has(kUserDomain) {
		rec.setStr(kUserName, name)
		rec.setStr(kUserDomain, requester["domain"].(string))
	}
	// '{{{…}}}': a triple-brace template, not escaped.
	rec.appendUnique(kRelatedUser, name)
}

// rawData is event_data's value called name as the pipeline sees it:
// as Winlogbeat writes it, without Windows line endings or trailing line
// breaks (security_standard.yml leaves these fields alone).
func (n *Normalizer) rawData(name string) (string, bool) {
	f := n.ed.live(name)
	if f == nil || f.isList {
		return "", false
	}
	return f.value.String(), true
}

// adcsSignedDecimal is grok's '\A[+-]?[0-9]+\z' converted to a long, which
// fails (ignore_failure) when the value overflows one: ParseInt in base 10
// accepts exactly that syntax.
func adcsSignedDecimal(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// adcsDispositionName is the decode_adcs_disposition_name script: a
// disposition or HRESULT, signed or unsigned 32-bit, by name.
func adcsDispositionName(code int64) (string, bool) {
	if code < -2147483648 || code > 4294967295 {
		return "", false
	}
	if code < 0 {
		code += 4294967296
	}
	switch {
	case code >= 0 && code <= 6:
		return [...]string{
			"CR_DISP_INCOMPLETE", "CR_DISP_ERROR", "CR_DISP_DENIED", "CR_DISP_ISSUED",
			"CR_DISP_ISSUED_OUT_OF_BAND", "CR_DISP_UNDER_SUBMISSION", "CR_DISP_REVOKED",
		}[code], true
	case code >= 2148089857 && code <= 2148089880:
		return [...]string{
			"CERTSRV_E_BAD_REQUESTSUBJECT", "CERTSRV_E_NO_REQUEST", "CERTSRV_E_BAD_REQUESTSTATUS",
			"CERTSRV_E_PROPERTY_EMPTY", "CERTSRV_E_INVALID_CA_CERTIFICATE", "CERTSRV_E_SERVER_SUSPENDED",
			"CERTSRV_E_ENCODING_LENGTH", "CERTSRV_E_ROLECONFLICT", "CERTSRV_E_RESTRICTEDOFFICER",
			"CERTSRV_E_KEY_ARCHIVAL_NOT_CONFIGURED", "CERTSRV_E_NO_VALID_KRA", "CERTSRV_E_BAD_REQUEST_KEY_ARCHIVAL",
			"CERTSRV_E_NO_CAADMIN_DEFINED", "CERTSRV_E_BAD_RENEWAL_CERT_ATTRIBUTE", "CERTSRV_E_NO_DB_SESSIONS",
			"CERTSRV_E_ALIGNMENT_FAULT", "CERTSRV_E_ENROLL_DENIED", "CERTSRV_E_TEMPLATE_DENIED",
			"CERTSRV_E_DOWNLEVEL_DC_SSL_OR_UPGRADE", "CERTSRV_E_ADMIN_DENIED_REQUEST", "CERTSRV_E_NO_POLICY_SERVER",
			"CERTSRV_E_WEAK_SIGNATURE_OR_KEY", "CERTSRV_E_KEY_ATTESTATION_NOT_SUPPORTED", "CERTSRV_E_ENCRYPTION_CERT_REQUIRED",
		}[code-2148089857], true
	case code >= 2148091904 && code <= 2148091937:
		return [...]string{
			"CERTSRV_E_UNSUPPORTED_CERT_TYPE", "CERTSRV_E_NO_CERT_TYPE", "CERTSRV_E_TEMPLATE_CONFLICT",
			"CERTSRV_E_SUBJECT_ALT_NAME_REQUIRED", "CERTSRV_E_ARCHIVED_KEY_REQUIRED", "CERTSRV_E_SMIME_REQUIRED",
			"CERTSRV_E_BAD_RENEWAL_SUBJECT", "CERTSRV_E_BAD_TEMPLATE_VERSION", "CERTSRV_E_TEMPLATE_POLICY_REQUIRED",
			"CERTSRV_E_SIGNATURE_POLICY_REQUIRED", "CERTSRV_E_SIGNATURE_COUNT", "CERTSRV_E_SIGNATURE_REJECTED",
			"CERTSRV_E_ISSUANCE_POLICY_REQUIRED", "CERTSRV_E_SUBJECT_UPN_REQUIRED", "CERTSRV_E_SUBJECT_DIRECTORY_GUID_REQUIRED",
			"CERTSRV_E_SUBJECT_DNS_REQUIRED", "CERTSRV_E_ARCHIVED_KEY_UNEXPECTED", "CERTSRV_E_KEY_LENGTH",
			"CERTSRV_E_SUBJECT_EMAIL_REQUIRED", "CERTSRV_E_UNKNOWN_CERT_TYPE", "CERTSRV_E_CERT_TYPE_OVERLAP",
			"CERTSRV_E_TOO_MANY_SIGNATURES", "CERTSRV_E_RENEWAL_BAD_PUBLIC_KEY", "CERTSRV_E_INVALID_EK",
			"CERTSRV_E_INVALID_IDBINDING", "CERTSRV_E_INVALID_ATTESTATION", "CERTSRV_E_KEY_ATTESTATION",
			"CERTSRV_E_CORRUPT_KEY_ATTESTATION", "CERTSRV_E_EXPIRED_CHALLENGE", "CERTSRV_E_INVALID_RESPONSE",
			"CERTSRV_E_INVALID_REQUESTID", "CERTSRV_E_REQUEST_PRECERTIFICATE_MISMATCH", "CERTSRV_E_PENDING_CLIENT_RESPONSE",
			"CERTSRV_E_SEC_EXT_DIRECTORY_SID_REQUIRED",
		}[code-2148091904], true
	}
	return "", false
}

// adcsSpace is the pattern's [\x09-\x0D ].
func adcsSpace(c byte) bool { return c == ' ' || c >= 0x09 && c <= 0x0D }

// adcsRequester is grok's '\A(part)\\(part)\z' with part
// '[^\x09-\x0D \\](?:[^\\]*[^\x09-\x0D \\])?': exactly one backslash
// between two parts that neither start nor end with white space.
func adcsRequester(s string) (domain, name string, ok bool) {
	domain, name, ok = strings.Cut(s, `\`)
	if !ok || strings.IndexByte(name, '\\') >= 0 {
		return "", "", false
	}
	for _, p := range [2]string{domain, name} {
		if p == "" || adcsSpace(p[0]) || adcsSpace(p[len(p)-1]) {
			return "", "", false
		}
	}
	return domain, name, true
}

// adcsNonblank is '(?=[\s\S]*[^\x09-\x0D ])[\s\S]+'.
func adcsNonblank(s string) bool {
	for i := 0; i < len(s); i++ {
		if !adcsSpace(s[i]) {
			return true
		}
	}
	return false
}

// adcsOID is '[0-9]+(?:\.[0-9]+)+'.
func adcsOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// javaLen is Java's String.length(): UTF-16 code units. An invalid byte
// counts one, as the replacement character it decodes to.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

type adcsStatus uint8

const (
	adcsParsed adcsStatus = iota
	adcsSkippedLimit
)

// adcsAttributes is the script's parserResult.
type adcsAttributes struct {
	attributes map[string]any // outer name → []any of strings
	san        map[string]any // upn, dns, uri, sid → []any of strings
	status     adcsStatus
}

func adcsAppend(m map[string]any, k, v string) {
	l, _ := m[k].([]any)
	m[k] = append(l, v)
}

// adcsEdge is the script's edgeWhitespace.
func adcsEdge(c byte) bool { return c == ' ' || c == '\t' }

// adcsTrim is trimmedStart and trimmedEnd.
func adcsTrim(s string) string {
	i, j := 0, len(s)
	for i < j && adcsEdge(s[i]) {
		i++
	}
	for j > i && adcsEdge(s[j-1]) {
		j--
	}
	return s[i:j]
}

// adcsKey is normalizedKey: ASCII lower-cased, without blanks and dashes
// when removeSeparators.
func adcsKey(s string, removeSeparators bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if removeSeparators && (c == ' ' || c == '\t' || c == '-') {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// adcsASCIIPrefix is the script's asciiPrefix.
func adcsASCIIPrefix(v, prefix string) bool {
	if len(v) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		l, r := v[i], prefix[i]
		if l >= 'A' && l <= 'Z' {
			l += 'a' - 'A'
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		if l != r {
			return false
		}
	}
	return true
}

// parseADCSAttributes is the split_adcs_attribute_lines processor and the
// parse_adcs_request_attributes script: allowlisted "name: value" lines
// of a request's Attributes and the claims of its SAN attributes, or
// nothing at all (skipped_limit) when a limit is passed. Every byte
// compared is ASCII, so byte offsets stand for the script's char offsets;
// lengths are counted in chars.
func parseADCSAttributes(raw string) adcsAttributes {
	skipped := adcsAttributes{status: adcsSkippedLimit}
	if javaLen(raw) > adcsAttributesChars {
		return skipped
	}
	lines := strings.Split(raw, "\n") // split with preserve_trailing
	if len(lines) > adcsPhysicalLines {
		return skipped
	}
	res := adcsAttributes{attributes: map[string]any{}, san: map[string]any{}}
	counts := map[string]int{}
	components := 0
	for _, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if javaLen(line) > adcsLineChars {
			return skipped
		}
		line = adcsTrim(line)
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		rawKey := adcsTrim(line[:colon])
		if javaLen(rawKey) > adcsKeyChars {
			return skipped
		}
		key := adcsKey(rawKey, true)
		outer, ok := adcsOuterKey(key)
		if !ok {
			continue
		}
		counts[key]++
		if counts[key] > adcsValuesPerKey {
			return skipped
		}
		value := adcsTrim(line[colon+1:])
		if value == "" {
			continue
		}
		adcsAppend(res.attributes, outer, value)
		if key != "san" {
			continue
		}
		for _, component := range strings.Split(value, "&") {
			component = adcsTrim(component)
			if component == "" {
				continue
			}
			components++
			if components > adcsSANComponents {
				return skipped
			}
			eq := strings.IndexByte(component, '=')
			if eq < 0 {
				continue
			}
			rawSANKey := adcsTrim(component[:eq])
			if javaLen(rawSANKey) > adcsKeyChars {
				return skipped
			}
			sanValue := adcsTrim(component[eq+1:])
			if sanValue == "" {
				continue
			}
			switch adcsKey(rawSANKey, false) {
			case "upn":
				adcsAppend(res.san, "upn", sanValue)
			case "dns":
				adcsAppend(res.san, "dns", sanValue)
			case "url":
				adcsAppend(res.san, "uri", sanValue)
				if adcsASCIIPrefix(sanValue, adcsSIDURIPrefix) {
					if sid := sanValue[len(adcsSIDURIPrefix):]; sid != "" {
						adcsAppend(res.san, "sid", sid)
					}
				}
			}
		}
	}
	return res
}
