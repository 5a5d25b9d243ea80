package normalizer_test

import (
	"path/filepath"
	"testing"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/normalizer"
)

// TestScriptBlockStatsReachRules: 4104's entropy fields leave the stage as
// msgpack float 64, a consumer decodes them as float64, and an EQL rule
// compares them as numbers (a string would not be greater than 5.7).
func TestScriptBlockStatsReachRules(t *testing.T) {
	t.Parallel()
	raws := readXML(t, filepath.Join("testdata", "golden", "powershell-operational-4104-signed-script.xml"))
	wire, err := normalizer.New().AppendMsgpack([]byte{0x91}, raws[0])
	if err != nil {
		t.Fatal(err)
	}
	var batch event.DocumentBatch
	if err := bus.Decode(wire, &batch); err != nil {
		t.Fatal(err)
	}
	doc := batch[0]
	file := doc["powershell"].(map[string]any)["file"].(map[string]any)
	for _, f := range []string{"script_block_entropy_bits", "script_block_entropy_normalized", "script_block_surprisal_stdev"} {
		if _, ok := file[f].(float64); !ok {
			t.Errorf("powershell.file.%s decodes as %T, want float64", f, file[f])
		}
	}
	tests := []struct {
		query string
		want  bool
	}{
		{`process where powershell.file.script_block_entropy_bits > 5.7 and powershell.file.script_block_entropy_bits < 5.8`, true},
		{`process where powershell.file.script_block_entropy_normalized >= 0.8 and powershell.file.script_block_length == 142`, true},
		{`process where powershell.file.script_block_surprisal_stdev > 1`, false},
		{`process where powershell.file.script_block_unique_symbols == 66`, true},
	}
	for _, tt := range tests {
		p, err := eql.CompileString(tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if got := p.Match(doc); got != tt.want {
			t.Errorf("%s: match %v, want %v", tt.query, got, tt.want)
		}
	}
}
