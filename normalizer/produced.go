package normalizer

import "strings"

// Fields lists the ECS fields a document from Normalize can hold, each
// once, so that other tools can tell which fields weft never produces (a
// rule reading one cannot fire). A name ending in ".*" stands for any
// field under that object: winlog.event_data.* for the event's EventData
// values, kept under their own names, and process.hash.* and file.hash.*
// for each algorithm of Sysmon's Hashes, lower-cased.
func Fields() []string {
	paths := strings.Fields(keyPaths)
	for i, p := range paths {
		switch key(i) {
		case kWinlogEventData, kProcessHash, kFileHash:
			paths[i] = p + ".*"
		}
	}
	return paths
}
