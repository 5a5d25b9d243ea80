package normalizer

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

// TestParseADCSAttributes checks parse_adcs_request_attributes: the
// allowlist, key normalization, SAN claims and each limit, which drops
// every attribute (skipped_limit) rather than keeping a prefix.
func TestParseADCSAttributes(t *testing.T) {
	t.Parallel()
	const sid = "S-1-5-21-1-2-3-500"
	tests := []struct {
		name  string
		raw   string
		attrs map[string]any
		san   map[string]any
		skip  bool
	}{
		{"template and SAN",
			"CertificateTemplate:User\nSAN:upn=a@b.c&dns=h.b.c&url=tag:microsoft.com,2022-09-14:sid:" + sid,
			map[string]any{"certificate_template": []any{"User"}, "san": []any{"upn=a@b.c&dns=h.b.c&url=tag:microsoft.com,2022-09-14:sid:" + sid}},
			map[string]any{"upn": []any{"a@b.c"}, "dns": []any{"h.b.c"}, "uri": []any{"tag:microsoft.com,2022-09-14:sid:" + sid}, "sid": []any{sid}}, false},
		{"keys lose blanks and dashes and case, values their edge blanks",
			" Certificate-Template \t: \tWeb Server \r\nrequest client info:x\nSan: UPN = u & Url=TAG:Microsoft.com,2022-09-14:SID:" + sid + " &&",
			map[string]any{"certificate_template": []any{"Web Server"}, "request_client_info": []any{"x"}, "san": []any{"UPN = u & Url=TAG:Microsoft.com,2022-09-14:SID:" + sid + " &&"}},
			map[string]any{"upn": []any{"u"}, "uri": []any{"TAG:Microsoft.com,2022-09-14:SID:" + sid}, "sid": []any{sid}}, false},
		{"unlisted keys, lines without a colon and empty values are left",
			"Foo:bar\nno colon\nccm:\ncdc:c\nrmd : r\nSAN:email=x&=y&upn=&url=tag:microsoft.com,2022-09-14:sid:",
			map[string]any{"cdc": []any{"c"}, "rmd": []any{"r"}, "san": []any{"email=x&=y&upn=&url=tag:microsoft.com,2022-09-14:sid:"}},
			map[string]any{"uri": []any{"tag:microsoft.com,2022-09-14:sid:"}}, false},
		{"a value's own colons stay", "ccm:host:443", map[string]any{"ccm": []any{"host:443"}}, map[string]any{}, false},
		{"128 lines", strings.Repeat("ccm:a\n", 63) + strings.Repeat("\n", 64), map[string]any{"ccm": slicesOf("a", 63)}, map[string]any{}, false},
		{"129 lines", strings.Repeat("\n", 128), nil, nil, true},
		{"64 values of a key", strings.Repeat("ccm:a\n", 63) + "ccm:", map[string]any{"ccm": slicesOf("a", 63)}, map[string]any{}, false},
		{"65 values of a key, empty ones counted", strings.Repeat("ccm:\n", 64) + "ccm:a", nil, nil, true},
		{"line of 4096 chars", "ccm:" + strings.Repeat("é", 4092), map[string]any{"ccm": []any{strings.Repeat("é", 4092)}}, map[string]any{}, false},
		{"line of 4097 chars", "no colon" + strings.Repeat("x", 4089), nil, nil, true},
		{"key of 129 chars, even unlisted", strings.Repeat("k", 129) + ":v", nil, nil, true},
		{"attributes over 16384 chars", strings.Repeat("x\n", 8192) + "x", nil, nil, true},
		{"65 SAN components", "san:" + strings.Repeat("dns=d&", 65), nil, nil, true},
		{"64 SAN components over two lines", "san:" + strings.Repeat("x&", 32) + "\nsan:" + strings.Repeat("x&", 32),
			map[string]any{"san": []any{strings.Repeat("x&", 32), strings.Repeat("x&", 32)}}, map[string]any{}, false},
		{"SAN key of 129 chars", "san:" + strings.Repeat("k", 129) + "=v", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseADCSAttributes(tt.raw)
			if tt.skip {
				if got.status != adcsSkippedLimit || len(got.attributes) != 0 || len(got.san) != 0 {
					t.Fatalf("got %+v, want skipped_limit and nothing", got)
				}
				return
			}
			if got.status != adcsParsed {
				t.Fatalf("status %v, want parsed", got.status)
			}
			if !reflect.DeepEqual(got.attributes, tt.attrs) {
				t.Errorf("attributes %#v, want %#v", got.attributes, tt.attrs)
			}
			if !reflect.DeepEqual(got.san, tt.san) {
				t.Errorf("subject_alt_name %#v, want %#v", got.san, tt.san)
			}
		})
	}
}

func slicesOf(s string, n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = s
	}
	return l
}

func TestADCSScalars(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{{"117", 117, true}, {"+5", 5, true}, {"-2146877420", -2146877420, true}, {" 1", 0, false}, {"1.0", 0, false}, {"0x10", 0, false}, {"9223372036854775808", 0, false}, {"", 0, false}, {"+", 0, false}} {
		if got, ok := adcsSignedDecimal(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("adcsSignedDecimal(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		code int64
		want string
	}{{0, "CR_DISP_INCOMPLETE"}, {6, "CR_DISP_REVOKED"}, {7, ""}, {-1, ""}, {2148089857, "CERTSRV_E_BAD_REQUESTSUBJECT"},
		{2148089880, "CERTSRV_E_ENCRYPTION_CERT_REQUIRED"}, {2148089881, ""}, {-2146877420, "CERTSRV_E_ADMIN_DENIED_REQUEST"},
		{2148091904, "CERTSRV_E_UNSUPPORTED_CERT_TYPE"}, {2148091937, "CERTSRV_E_SEC_EXT_DIRECTORY_SID_REQUIRED"}, {2148091938, ""},
		{2148089857 + 4294967296, ""}, {-2148089857 + 4294967296 - 4294967296*2, ""}} {
		if got, _ := adcsDispositionName(tt.code); got != tt.want {
			t.Errorf("adcsDispositionName(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, domain, name string }{
		{`CORP\alice`, "CORP", "alice"}, {`NT AUTHORITY\SYSTEM`, "NT AUTHORITY", "SYSTEM"}, {`CORP\WKS07$`, "CORP", "WKS07$"},
		{`CORP\ alice`, "", ""}, {`CORP\alice `, "", ""}, {`\alice`, "", ""}, {`CORP\`, "", ""}, {`A\B\C`, "", ""}, {"alice", "", ""},
	} {
		d, n, _ := adcsRequester(tt.in)
		if d != tt.domain || n != tt.name {
			t.Errorf("adcsRequester(%q) = %q, %q; want %q, %q", tt.in, d, n, tt.domain, tt.name)
		}
	}
	for _, tt := range []struct {
		in  string
		oid bool
	}{{"2.5.29.17", true}, {"1.3.6.1.4.1.311.25.2", true}, {"2", false}, {"2.", false}, {".2.5", false}, {"2..5", false}, {"Subject Alternative Name", false}} {
		if adcsOID(tt.in) != tt.oid {
			t.Errorf("adcsOID(%q) = %v", tt.in, !tt.oid)
		}
	}
}

func adcsEvent4886(provider string, data ...event.Field) *event.Raw {
	return &event.Raw{
		EventID: 4886, Channel: "Security", Provider: provider,
		TimeCreated: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), RecordID: 9, Computer: "CA",
		Data: data,
	}
}

// TestADCSEvents checks which events the pipeline runs for, the tag of a
// skipped parse, the requester as the user, and
// that the stage's msgpack is bus.Encode of the document.
func TestADCSEvents(t *testing.T) {
	t.Parallel()
	req := event.Field{Name: "Requester", Value: `CORP\bob`}
	tests := []struct {
		name     string
		raw      *event.Raw
		overlay  bool
		tag      string
		userName string
	}{
		{"4886", adcsEvent4886(securityProvider, req, event.Field{Name: "RequestId", Value: "7"}), true, "", "bob"},
		{"other provider", adcsEvent4886(eventlogProvider, req), false, "", ""},
		{"over the limit", adcsEvent4886(securityProvider, event.Field{Name: "Attributes", Value: strings.Repeat("x\n", 200)}), false, "adcs_attributes_skipped_limit", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := New().Normalize(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			winlog, _ := doc["winlog"].(map[string]any)
			if _, ok := winlog["adcs"]; ok != tt.overlay {
				t.Errorf("winlog.adcs present %v, want %v: %v", ok, tt.overlay, winlog)
			}
			tags, _ := doc["tags"].([]any)
			if tt.tag == "" && len(tags) != 0 || tt.tag != "" && !reflect.DeepEqual(tags, []any{tt.tag}) {
				t.Errorf("tags %v, want %q", tags, tt.tag)
			}
			user, _ := doc["user"].(map[string]any)
			if name, _ := user["name"].(string); name != tt.userName {
				t.Errorf("user.name %q, want %q", name, tt.userName)
			}
			if _, err := New().AppendMsgpack(nil, tt.raw); err != nil {
				t.Fatal(err)
			}
			checkStageEncodes(t, New(), tt.raw, doc)
		})
	}
}

// FuzzADCS runs security_adcs.yml over any Attributes, Requester,
// RequestId, Disposition and ExtensionName: it must not fault, and the
// stage's msgpack must be bus.Encode of the document.
func FuzzADCS(f *testing.F) {
	f.Add(uint8(0), "CertificateTemplate:User\r\nSAN:upn=a@b&url=tag:microsoft.com,2022-09-14:sid:S-1-5-18", `CORP\bob`, "12", "3", "2.5.29.17")
	f.Add(uint8(1), strings.Repeat("ccm:x\n", 70), `A\B\C`, "+1", "-2146877420", " \t")
	f.Add(uint8(2), "san:"+strings.Repeat("dns=x&", 70), `\x`, "99999999999999999999", "4294967295", "name")
	f.Fuzz(func(t *testing.T, which uint8, attrs, requester, id, disposition, ext string) {
		codes := [...]uint32{4886, 4887, 4888, 4889, 4873, 4868, 4870}
		r := adcsEvent4886(securityProvider,
			event.Field{Name: "RequestId", Value: id}, event.Field{Name: "Requester", Value: requester},
			event.Field{Name: "Attributes", Value: attrs}, event.Field{Name: "Disposition", Value: disposition},
			event.Field{Name: "ExtensionName", Value: ext})
		r.EventID = codes[int(which)%len(codes)]
		fuzzStageAgrees(t, r)
	})
}
