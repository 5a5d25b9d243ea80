package normalizer

import "github.com/weft-dev/weft/event"

// SetOrigin turns on or off the fields that say where an event was read:
// log.file.path (ECS; what Winlogbeat writes for an EVTX file it reads)
// for a file, and log.source.address for an event a peer forwarded. Alerts
// report them (weft.origins), so that an analyst finds the file and record
// an alert came from. They are off by default: the documents then stay
// exactly what Elastic's pipelines store.
func (n *Normalizer) SetOrigin(on bool) { n.origin = on }

// setOrigin sets the origin fields of r. Standard input ("-") names no
// file.
func (n *Normalizer) setOrigin(r *event.Raw) {
	if p := r.Origin.Path; p != "" && p != "-" {
		n.rec.setStr(kLogFilePath, p)
	}
	if peer := r.Origin.Peer; peer != "" {
		n.rec.setStr(kLogSourceAddress, peer)
	}
}
