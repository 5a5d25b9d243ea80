package normalizer

import "testing"

// A command line keeps its carriage returns and final line ends, as the
// EVTX record (and the XML reader) has them; other values get Winlogbeat's
// CR LF → LF.
func TestCommandLineKeepsCR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, field, value, path, want string
	}{
		{"CR LF", "CommandLine", "cmd.exe /c \"echo a\r\necho b\"", "process.command_line", "cmd.exe /c \"echo a\r\necho b\""},
		{"final line end", "CommandLine", "cmd.exe /c whoami\r\n", "process.command_line", "cmd.exe /c whoami\r\n"},
		{"LF only", "CommandLine", "powershell -c \"a\nb\"", "process.command_line", "powershell -c \"a\nb\""},
		{"GUID-long", "CommandLine", "cmd /c echo 0123456789abcdefghi\r\nz", "process.command_line", "cmd /c echo 0123456789abcdefghi\r\nz"},
		{"parent", "ParentCommandLine", "mmc.exe -Embedding\r\n", "process.parent.command_line", "mmc.exe -Embedding\r\n"},
		{"other fields as Winlogbeat", "CurrentDirectory", "C:\\x\r\ny\r\n", "process.working_directory", "C:\\x\ny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := Normalize(withData(processCreate(), tt.field, tt.value))
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.String(tt.path); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
