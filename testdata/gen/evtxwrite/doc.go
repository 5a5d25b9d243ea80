// Package evtxwrite writes Windows XML Event Log (EVTX) files as Windows
// does: a 4 KiB file header, then 64 KiB chunks whose records hold BinXML
// template instances, with each chunk's common-string and template tables,
// record ids, write times and CRC32s.
//
// A Template is the XML shape of an event with numbered, typed
// substitutions; an Instance fills them with Values. The first record of a
// chunk that uses a template (or an element or attribute name) carries its
// definition inline, and later records of the chunk refer back to it, so a
// file reads like one Windows wrote. The layout follows the libevtx format
// documentation and what real Sysmon logs hold; where the format leaves a
// choice open (the template table's bucket key) the package says what it
// chose.
//
// It exists to make test and benchmark data for weft: files that contain
// exactly what a test needs, at any size, without copying anyone's logs.
package evtxwrite
