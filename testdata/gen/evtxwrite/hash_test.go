package evtxwrite

import "testing"

// The hashes Windows stored beside these names in a real Sysmon log
// (evtx-attack's DE_Powershell_CLM_Disabled_Sysmon_12.evtx, chunk 0).
func TestNameHash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want uint16
	}{
		{"Event", 0x0cba},
		{"System", 0x546f},
		{"Provider", 0x7bf1},
		{"Name", 0x954b},
		{"Guid", 0x1529},
		{"EventData", 0x8244},
		{"Data", 0x6f8a},
		{"xmlns", 0x0fbc},
		{"", 0},
	} {
		if got := nameHash(tc.name); got != tc.want {
			t.Errorf("nameHash(%q) = %#04x, want %#04x", tc.name, got, tc.want)
		}
	}
}

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0}, {"abc", 3}, {"Zürich", 6}, {"東京", 2}, {"😀", 2}, {"a😀b", 4},
	} {
		if got := utf16Len(tc.s); got != tc.want {
			t.Errorf("utf16Len(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}
