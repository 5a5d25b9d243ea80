package eql

import (
	"math"
	"reflect"
	"testing"

	"github.com/weft-dev/weft/event"
)

func testDoc() event.Document {
	return event.Document{
		"@timestamp": "2024-05-01T10:00:00.123Z",
		"process": map[string]any{
			"name":         "MMC.exe",
			"pid":          int32(4242),
			"args":         []any{"mmc.exe", "-Embedding"},
			"command_line": `C:\Windows\system32\cmd.exe /c whoami`,
			"parent":       map[string]any{"name": "mmc.exe"},
		},
		"source":      map[string]any{"ip": "10.1.2.3", "port": uint16(49700)},
		"destination": map[string]any{"ip": "::ffff:10.0.0.9", "port": "51234"},
		"host":        map[string]any{"ip": []any{"0:0:0:0:0:0:0:1", "fe80::1"}},
		"event": map[string]any{
			"category": []any{"network"},
			"type":     []any{"start", "connection", "protocol"},
			"code":     "3",
		},
		"f":          float32(1.5),
		"i8":         int8(-3),
		"u64":        uint64(math.MaxUint64),
		"flag":       true,
		"dotted.key": "literal",
		"obj":        map[string]any{"a.b": "mixed"},
		"empty":      []any{},
		"nul":        nil,
		"url":        map[string]any{"domain": "subdomain.example.com"},
		"file":       map[string]any{"path": `C:\Windows\System32\cmd.exe`},
		"list":       []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}},
		"user":       map[string]any{"name": "Ünïcode"},
		"strs":       []string{"x", "y"},
	}
}

func TestConditions(t *testing.T) {
	t.Parallel()
	doc := testDoc()
	tests := []struct {
		expr string
		want bool
	}{
		// == is case-sensitive, : is not and takes wildcards
		{`process.name == "MMC.exe"`, true},
		{`process.name == "mmc.exe"`, false},
		{`process.name == "MMC*"`, false},
		{`process.name != "mmc.exe"`, true},
		{`process.name != "MMC.exe"`, false},
		{`process.name : "mmc.exe"`, true},
		{`process.name : "MM?.EXE"`, true},
		{`process.name : "m*"`, true},
		{`process.name : "*.dll"`, false},
		{`process.name : "m?.exe"`, false},
		{`process.name : ("a", "*mc*")`, true},
		{`process.name : ("a", "b")`, false},
		{`process.name like "MMC*"`, true},
		{`process.name like "mmc*"`, false},
		{`process.name like~ "mmc*"`, true},
		{`process.name like ("x", "M*C.exe")`, true},
		{`process.name regex "M.C\\.exe"`, true},
		{`process.name regex "mmc.exe"`, false},
		{`process.name regex~ "mmc.exe"`, true},
		{`process.name regex "MMC"`, false},
		{`process.name regex ("x", "MMC.*")`, true},
		{`user.name : "üNÏCODE"`, true},
		{`user.name == "üNÏCODE"`, false},
		// numbers of any Go type, and numeric strings
		{`process.pid == 4242`, true},
		{`process.pid == 4242.0`, true},
		{`process.pid > 4000`, true},
		{`process.pid < 4000.5`, false},
		{`process.pid >= 4242`, true},
		{`process.pid <= 4241`, false},
		{`source.port >= 49152`, true},
		{`destination.port >= 49152`, true},
		{`destination.port == 51234`, true},
		{`destination.port < 50000`, false},
		{`f == 1.5`, true},
		{`i8 < 0`, true},
		{`u64 > 0`, true},
		{`event.code == 3`, true},
		{`event.code == "3"`, true},
		{`event.code : "3"`, true},
		{`process.pid : "42*"`, true},
		// strings order case-sensitively
		{`process.name < "a"`, true},
		{`process.name > "MMC"`, true},
		{`process.name >= "MMC.exe"`, true},
		// booleans
		{`flag == true`, true},
		{`flag`, true},
		{`not flag`, false},
		{`flag == "true"`, true},
		// null and missing fields
		{`missing == "x"`, false},
		{`missing != "x"`, false},
		{`missing == null`, true},
		{`null == missing`, true},
		{`missing != null`, false},
		{`?missing == null`, true},
		{`process.name != null`, true},
		{`not missing == "x"`, true},
		{`missing < 5`, false},
		{`missing : "x"`, false},
		{`missing like "*"`, false},
		{`missing in ("x")`, false},
		{`missing not in ("x")`, false},
		{`not missing in ("x")`, true},
		{`empty == null`, true},
		{`nul == null`, true},
		{`process == null`, true},
		{`process.pid < null`, false},
		{`missing`, false},
		// multi-valued fields: any value matches; != and not in need none equal
		{`event.type == "start"`, true},
		{`event.type == "stop"`, false},
		{`event.type != "start"`, false},
		{`event.type != "stop"`, true},
		{`event.type : "CONN*"`, true},
		{`event.type in ("x", "protocol")`, true},
		{`event.type not in ("start")`, false},
		{`event.type not in ("stop")`, true},
		{`strs == "y"`, true},
		{`list.name == "b"`, true},
		// in / in~
		{`process.name in ("MMC.exe", "x")`, true},
		{`process.name in ("mmc.exe")`, false},
		{`process.name in~ ("mmc.exe")`, true},
		{`process.name not in ("mmc.exe")`, true},
		{`process.name not in~ ("mmc.exe")`, false},
		{`process.pid in (1, 4242)`, true},
		{`process.pid in ("4242")`, true},
		{`process.name in ("a", "b", "c", "d", "e", "f", "g", "MMC.exe")`, true},
		{`process.name in ("a", "b", "c", "d", "e", "f", "g", "mmc.exe")`, false},
		{`process.name in~ ("a", "b", "c", "d", "e", "f", "g", "mmc.exe")`, true},
		{`process.parent.name in~ (process.name, "x")`, true},
		{`process.parent.name in (process.name)`, false},
		// ip fields compare as addresses
		{`source.ip == "10.1.2.3"`, true},
		{`destination.ip == "10.0.0.9"`, true},
		{`source.ip != "127.0.0.1"`, true},
		{`source.ip == "10.0.0.0/8"`, true},
		{`source.ip in ("192.168.0.0/16", "10.1.0.0/16")`, true},
		{`source.ip not in ("10.0.0.0/8")`, false},
		{`host.ip == "::1"`, true},
		{`host.ip != "::1"`, false},
		{`host.ip != "::2"`, true},
		{`missing.ip != "::1"`, false},
		// literal dotted keys and nested objects mix
		{`dotted.key == "literal"`, true},
		{`obj.a.b == "mixed"`, true},
		// wildcards treat backslashes literally
		{`file.path : "C:\\Windows\\*"`, true},
		{`file.path : "c:\\windows\\system32\\CMD.EXE"`, true},
		{`file.path like "C:\\Windows\\*.exe"`, true},
		{`file.path : "C:\\Users\\*"`, false},
		// logic and arithmetic
		{`flag and process.pid > 1 or missing == 1`, true},
		{`not (flag and missing == 1)`, true},
		{`process.pid + 1 == 4243`, true},
		{`process.pid / 1000 == 4`, true},
		{`process.pid / 1000.0 > 4.2`, true},
		{`process.pid % 1000 == 242`, true},
		{`-process.pid < 0`, true},
		{`2 * 3 - 1 == 5`, true},
		{`(4 / process.pid) == 0`, true},
		// predicate functions as conditions, over multi-valued fields too
		{`startsWith(process.args, "-Emb")`, true},
		{`not startsWith(process.args, "x")`, true},
		{`length(process.args) > 8`, true},
		{`endsWith~(process.name, ".EXE")`, true},
		{`stringContains(missing, "x")`, false},
		{`not stringContains(missing, "x")`, true},
		{`cidrMatch(source.ip, "10.0.0.0/8")`, true},
		// Lucene regular expressions
		{`"abc" regex "a@"`, true},
		{`"a.c" regex "a\\.c"`, true},
		{`"abc" regex "a\"b\"c"`, true},
		{`"3" regex "<0-5>"`, true},
		{`"7" regex "<0-5>"`, false},
		{`"x^y" regex "x^y"`, true},
		{`"A" regex "[a-z]"`, false},
		{`"A" regex~ "[a-z]"`, true},
		{`"ab1" regex "ab\\d"`, true},
		{`"a\nb" regex "a.b"`, true},
		{`"abc" regex "#"`, false},
		{`"a]" regex "a[\\]]"`, true},
	}
	for _, tt := range tests {
		x, err := CompileExpr(tt.expr)
		if err != nil {
			t.Errorf("CompileExpr(%q): %v", tt.expr, err)
			continue
		}
		if got := x.Test(doc); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	doc := testDoc()
	tests := []struct {
		expr string
		want any
	}{
		{`add(4, 5)`, int64(9)},
		{`add(4, 0.5)`, 4.5},
		{`add(-2, -2)`, int64(-4)},
		{`add(null, 4)`, nil},
		{`add(process.pid, 1)`, int64(4243)},
		{`add(destination.port, 1)`, int64(51235)},
		{`between(file.path, "System32\\", ".exe")`, "cmd"},
		{`between(file.path, "system32\\", ".exe")`, ""},
		{`between~(file.path, "system32\\", ".exe")`, "cmd"},
		{`between(file.path, "workspace\\", ".exe")`, ""},
		{`between(file.path, "\\", "\\", false)`, "Windows"},
		{`between(file.path, "\\", "\\", true)`, `Windows\System32`},
		{`between("", "System32\\", ".exe")`, ""},
		{`between(null, "a", "b")`, nil},
		{`cidrMatch(source.ip, "192.168.0.0/16", "10.0.0.0/8")`, true},
		{`cidrMatch(source.ip, "10.0.0.0/32")`, false},
		{`cidrMatch(destination.ip, "10.0.0.0/8")`, true},
		{`cidrMatch(null, "10.0.0.0/8")`, nil},
		{`cidrMatch(source.ip, null)`, nil},
		{`cidrMatch("fe80::1", "fe80::/10")`, true},
		{`concat("process is ", process.name)`, "process is MMC.exe"},
		{`concat("a", 42, " ", 42.5, true)`, "a42 42.5true"},
		{`concat(4.0)`, "4.0"},
		{`concat(null, "x")`, nil},
		{`divide(4, 2)`, int64(2)},
		{`divide(4, 3)`, int64(1)},
		{`divide(-4, 3)`, int64(-1)},
		{`divide(0.5, 4)`, 0.125},
		{`divide(4, 0)`, nil},
		{`divide(process.pid, 2)`, int64(2121)},
		{`endsWith("regsvr32.exe", ".exe")`, true},
		{`endsWith("regsvr32.exe", ".EXE")`, false},
		{`endsWith~("regsvr32.exe", ".EXE")`, true},
		{`endsWith("", "")`, true},
		{`endsWith(null, ".exe")`, nil},
		{`endsWith("x", null)`, nil},
		{`indexOf(url.domain, "d")`, int64(3)},
		{`indexOf(url.domain, "D")`, nil},
		{`indexOf~(url.domain, "D")`, int64(3)},
		{`indexOf(url.domain, ".")`, int64(9)},
		{`indexOf(url.domain, ".", 9)`, int64(9)},
		{`indexOf(url.domain, ".", 10)`, int64(17)},
		{`indexOf(url.domain, ".", -6)`, int64(9)},
		{`indexOf("", "")`, int64(0)},
		{`indexOf(url.domain, "", 10)`, int64(10)},
		{`indexOf(url.domain, "z")`, nil},
		{`indexOf(url.domain, ".", 30)`, nil},
		{`indexOf(null, ".", 9)`, nil},
		{`indexOf(url.domain, ".", null)`, nil},
		{`length("explorer.exe")`, int64(12)},
		{`length("")`, int64(0)},
		{`length(null)`, nil},
		{`length(user.name)`, int64(7)},
		{`length(process.args)`, []any{int64(7), int64(10)}},
		{`modulo(10, 6)`, int64(4)},
		{`modulo(10, -6)`, int64(4)},
		{`modulo(-10, -6)`, int64(-4)},
		{`modulo(10, 0.5)`, 0.0},
		{`modulo(null, 5)`, nil},
		{`multiply(2, 2)`, int64(4)},
		{`multiply(0.5, 2)`, 1.0},
		{`multiply(2, null)`, nil},
		{`number("1337")`, int64(1337)},
		{`number("42.5")`, 42.5},
		{`number("deadbeef", 16)`, int64(3735928559)},
		{`number("0xdeadbeef")`, int64(3735928559)},
		{`number("0xdeadbeef", null)`, int64(3735928559)},
		{`number("+1337")`, int64(1337)},
		{`number("-1337")`, int64(-1337)},
		{`number("  1337  ")`, int64(1337)},
		{`number("1337", null)`, int64(1337)},
		{`number(null)`, nil},
		{`number("nope")`, nil},
		{`startsWith("regsvr32.exe", "regsvr32")`, true},
		{`startsWith("regsvr32.exe", "Regsvr32")`, false},
		{`startsWith~("regsvr32.exe", "Regsvr32")`, true},
		{`startsWith("", "")`, true},
		{`startsWith(null, "x")`, nil},
		{`string(42)`, "42"},
		{`string(42.5)`, "42.5"},
		{`string(4.0)`, "4.0"},
		{`string(1e10)`, "1.0E10"},
		{`string(true)`, "true"},
		{`string(null)`, nil},
		{`stringContains(process.command_line, "whoami")`, true},
		{`stringContains(process.command_line, "WHOAMI")`, false},
		{`stringContains~(process.command_line, "WHOAMI")`, true},
		{`stringContains("", "")`, false},
		{`stringContains(process.command_line, "")`, false},
		{`stringContains(null, "x")`, nil},
		{`substring("start regsvr32.exe", 6)`, "regsvr32.exe"},
		{`substring("start regsvr32.exe", 0, 5)`, "start"},
		{`substring("start regsvr32.exe", 6, 14)`, "regsvr32"},
		{`substring("start regsvr32.exe", -4)`, ".exe"},
		{`substring("start regsvr32.exe", -4, -1)`, ".ex"},
		{`substring("start", 3, 1)`, ""},
		{`substring("start", 1, 100)`, "tart"},
		{`subtract(10, 2)`, int64(8)},
		{`subtract(10.5, 0.5)`, 10.0},
		{`subtract(-2, 4)`, int64(-6)},
		{`subtract(2, null)`, nil},
		{`process.pid - 42`, int64(4200)},
		{`process.name`, "MMC.exe"},
		{`missing`, nil},
	}
	for _, tt := range tests {
		x, err := CompileExpr(tt.expr)
		if err != nil {
			t.Errorf("CompileExpr(%q): %v", tt.expr, err)
			continue
		}
		got := x.Eval(doc)
		if f, ok := tt.want.(float64); ok {
			g, ok := got.(float64)
			if !ok || math.Abs(g-f) > 1e-9 {
				t.Errorf("%s = %#v, want %#v", tt.expr, got, tt.want)
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.expr, got, tt.want)
		}
	}
}

func TestConstantFolding(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`process where add(1, 2) == 3 and length("abc") == 3`,
		`process where true or process.name == "x"`,
		`process where startsWith~("ABC", "a")`,
	} {
		p, err := CompileString(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if _, ok := p.event.cond.(constNode); !ok {
			t.Errorf("%s: condition %T was not folded to a constant", src, p.event.cond)
		}
	}
	p, err := CompileString(`process where false and process.name == "x"`)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := p.event.cond.(constNode); !ok || truthy(c.v) {
		t.Errorf("false and x: %#v", p.event.cond)
	}
}

func TestEventQueryCategory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		doc   event.Document
		want  bool
	}{
		{`network where true`, event.Document{"event": map[string]any{"category": []any{"network"}}}, true},
		{`network where true`, event.Document{"event": map[string]any{"category": "network"}}, true},
		{`network where true`, event.Document{"event": map[string]any{"category": []any{"process", "network"}}}, true},
		{`network where true`, event.Document{"event": map[string]any{"category": []string{"network"}}}, true},
		{`network where true`, event.Document{"event": map[string]any{"category": []any{"Network"}}}, false},
		{`network where true`, event.Document{"event.category": "network"}, true},
		{`network where true`, event.Document{}, false},
		{`any where true`, event.Document{}, true},
		{`"my-cat" where true`, event.Document{"event": map[string]any{"category": "my-cat"}}, true},
		{`process where process.name : "cmd.exe"`, event.Document{"event": map[string]any{"category": "process"}, "process": map[string]any{"name": "CMD.EXE"}}, true},
	}
	for _, tt := range tests {
		p, err := CompileString(tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if got := p.Match(tt.doc); got != tt.want {
			t.Errorf("%s on %v = %v, want %v", tt.query, tt.doc, got, tt.want)
		}
	}
}
