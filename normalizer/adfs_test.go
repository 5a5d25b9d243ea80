package normalizer

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

func adfsRaw(channel, provider string, id uint32, keywords string, data ...event.Field) *event.Raw {
	return &event.Raw{
		EventID: id, Channel: channel, Provider: provider, Keywords: keywords,
		TimeCreated: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), RecordID: 11, Computer: "ADFS01",
		Data: data,
	}
}

func adfsPayload(audit string) []event.Field {
	return []event.Field{{Value: "{activity}"}, {Value: `<?xml version="1.0" encoding="utf-16"?><AuditBase xmlns:xsi="x">` + audit + `</AuditBase>`}}
}

// TestADFSEvents checks the routing of AD FS's audits to security_adfs.yml
// and the script's rules: first value wins, "-" and N/A are absent, the
// Windows outcome is kept, user ids split at \ or @, SIDs go to user.id,
// the first address of a list is source.ip unless it is not an address.
func TestADFSEvents(t *testing.T) {
	t.Parallel()
	const component = `<ContextComponents><Component><UserId>CORP\carol</UserId><MfaPerformed>maybe</MfaPerformed></Component>` +
		`<Component><UserId>other</UserId><MfaPerformed>0</MfaPerformed><IpAddress> - , 192.0.2.9</IpAddress></Component></ContextComponents>`
	tests := []struct {
		name        string
		raw         *event.Raw
		adfs        map[string]any
		action      string
		outcome     string
		user        map[string]any
		sourceIP    string
		problem     bool
		secPipeline bool
	}{
		{"components in order, outcome from the audit",
			adfsRaw("Security", adfsProvider, 1202, "", adfsPayload(`<AuditResult>Success</AuditResult><ErrorCode>N/A</ErrorCode>`+component)...),
			map[string]any{"activity_id": "{activity}", "audit_result": "Success", "user_id": `CORP\carol`, "mfa_performed": false, "ip_address": "- , 192.0.2.9"},
			"adfs-authentication-success", "success", map[string]any{"name": "carol", "domain": "CORP"}, "192.0.2.9", false, true},
		{"the keywords' outcome is kept",
			adfsRaw("security", adfsProvider, 1201, "0x8020000000000000", adfsPayload(`<AuditResult>Failure</AuditResult><UserId>S-1-5-21-1-2-3-1104</UserId><IpAddress>203.0.113.5:443</IpAddress>`)...),
			map[string]any{"activity_id": "{activity}", "audit_result": "Failure", "user_id": "S-1-5-21-1-2-3-1104", "ip_address": "203.0.113.5:443"},
			"adfs-token-issuance-failed", "success", map[string]any{"id": "S-1-5-21-1-2-3-1104"}, "", false, true},
		{"lockout counter, upn",
			adfsRaw("Security", adfsProvider, 1210, "", adfsPayload(`<UserId>dave@corp.example.com</UserId><CurrentBadPasswordCount> 12 </CurrentBadPasswordCount><ContextComponents><Component><CurrentBadPasswordCount>x</CurrentBadPasswordCount></Component></ContextComponents>`)...),
			map[string]any{"activity_id": "{activity}", "user_id": "dave@corp.example.com", "current_bad_password_count": int64(12)},
			"adfs-extranet-lockout", "", map[string]any{"name": "dave", "domain": "corp.example.com"}, "", false, true},
		{"a counter that is not a number is dropped",
			adfsRaw("Security", adfsProvider, 1204, "", adfsPayload(`<CurrentBadPasswordCount>many</CurrentBadPasswordCount><UserId>@x</UserId>`)...),
			map[string]any{"activity_id": "{activity}", "user_id": "@x"},
			"adfs-password-change-success", "", map[string]any{"name": "@x"}, "", false, true},
		{"the activity id is kept as AD FS writes it, not put in braces",
			adfsRaw("Security", adfsProvider, 1208, "", event.Field{Value: "8a1d2f4e-0d2b-4c1e-9e7a-1f2b3c4d5e6f"}),
			map[string]any{"activity_id": "8a1d2f4e-0d2b-4c1e-9e7a-1f2b3c4d5e6f"}, "", "", nil, "", false, true},
		{"1208 has no action",
			adfsRaw("Security", adfsProvider, 1208, "", event.Field{Value: "N/A"}),
			nil, "", "", nil, "", false, true},
		{"a payload that is not XML is reported",
			adfsRaw("Security", adfsProvider, 1206, "", event.Field{Value: "a"}, event.Field{Value: "<AuditBase><x></AuditBase>"}),
			map[string]any{"activity_id": "a"}, "adfs-sign-out-success", "", nil, "", true, true},
		{"other AD FS events keep Winlogbeat's fields",
			adfsRaw("Security", adfsProvider, 411, "", adfsPayload(`<UserId>eve</UserId>`)...),
			nil, "", "", nil, "", false, false},
		{"AD FS/Admin is not the Security channel",
			adfsRaw("AD FS/Admin", adfsProvider, 1200, "", adfsPayload(`<UserId>eve</UserId>`)...),
			nil, "", "", nil, "", false, false},
		{"another provider's 1200",
			adfsRaw("Security", "AD FS", 1200, "", adfsPayload(`<UserId>eve</UserId>`)...),
			nil, "", "", nil, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := New()
			doc, err := n.Normalize(tt.raw)
			if (err != nil) != tt.problem {
				t.Fatalf("problems %v, want %v", err, tt.problem)
			}
			if got := n.kind == chanSecurity; got != tt.secPipeline {
				t.Errorf("Security pipeline %v, want %v", got, tt.secPipeline)
			}
			winlog, _ := doc["winlog"].(map[string]any)
			if got, _ := winlog["adfs"].(map[string]any); !reflect.DeepEqual(got, tt.adfs) && (len(got) != 0 || len(tt.adfs) != 0) {
				t.Errorf("winlog.adfs %v, want %v", got, tt.adfs)
			}
			ev, _ := doc["event"].(map[string]any)
			if a, _ := ev["action"].(string); a != tt.action {
				t.Errorf("event.action %q, want %q", a, tt.action)
			}
			if o, _ := ev["outcome"].(string); o != tt.outcome {
				t.Errorf("event.outcome %q, want %q", o, tt.outcome)
			}
			if got, _ := doc["user"].(map[string]any); !reflect.DeepEqual(got, tt.user) && (len(got) != 0 || len(tt.user) != 0) {
				t.Errorf("user %v, want %v", got, tt.user)
			}
			source, _ := doc["source"].(map[string]any)
			if ip, _ := source["ip"].(string); ip != tt.sourceIP {
				t.Errorf("source.ip %q, want %q", ip, tt.sourceIP)
			}
			checkStageEncodes(t, New(), tt.raw, doc)
		})
	}
}

// TestADFSEventKinds checks the categorization Channels lists against the
// script's: 1204/1205 iam change, 1206/1207 end, 1210 info, others start.
func TestADFSEventKinds(t *testing.T) {
	t.Parallel()
	want := map[string][2]string{
		"1200": {"authentication", "start"}, "1201": {"authentication", "start"}, "1202": {"authentication", "start"},
		"1203": {"authentication", "start"}, "1204": {"iam", "change"}, "1205": {"iam", "change"},
		"1206": {"authentication", "end"}, "1207": {"authentication", "end"}, "1210": {"authentication", "info"},
	}
	kinds := adfsEventKinds()
	if len(kinds) != len(want) {
		t.Fatalf("%d kinds, want %d", len(kinds), len(want))
	}
	for _, k := range kinds {
		w, ok := want[k.Code]
		if !ok || k.Category[0] != w[0] || k.Type[0] != w[1] || !strings.HasPrefix(k.Action, "adfs-") {
			t.Errorf("%+v, want %v", k, w)
		}
	}
}

// FuzzADFS feeds AD FS audits with arbitrary payloads: the decoder must
// not fault and the stage's msgpack must be bus.Encode of the document.
func FuzzADFS(f *testing.F) {
	f.Add(uint16(1200), "{a}", `<AuditBase><UserId>CORP\a</UserId><ContextComponents><Component><IpAddress>1.2.3.4</IpAddress></Component><Component/></ContextComponents></AuditBase>`)
	f.Add(uint16(1203), "x", `<?xml version="1.0" encoding="utf-16"?><AuditBase a="1"><CurrentBadPasswordCount>9</CurrentBadPasswordCount><UserId>S-1-5</UserId>t</AuditBase>`)
	f.Add(uint16(1210), "", `<AuditBase><ContextComponents>x<Component><MfaPerformed>1</MfaPerformed></Component></ContextComponents></AuditBase>`)
	f.Fuzz(func(t *testing.T, id uint16, activity, payload string) {
		r := adfsRaw("Security", adfsProvider, 1200+uint32(id%12), "", event.Field{Value: activity}, event.Field{Value: payload})
		fuzzStageAgrees(t, r)
	})
}
