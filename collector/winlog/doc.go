// Package winlog reads events live from Windows event log channels: by
// default ForwardedEvents (what Windows Event Forwarding delivers to a
// collector) and Microsoft-Windows-Sysmon/Operational. It subscribes to
// each channel with EvtSubscribe and an XPath filter, renders each event to
// XML with EvtRender and decodes that with the collector's XML reader, so
// that a live event reads exactly as the same event from a file or the
// network.
//
// A bookmark per channel is kept in the collectors' checkpoint bucket once
// the events before it are stored, so a restart resumes after the last
// stored event: nothing skipped, and what is read twice is dropped as a
// duplicate.
//
// Subscribing needs Windows; the configuration, the bookmarks and the
// decoding are the same everywhere, and tested everywhere.
package winlog
