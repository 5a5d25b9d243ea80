package collector

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/0xrawsec/golang-evtx/evtx"
	"github.com/weft-dev/weft/event"
)

// EVTX layout: a 4 KiB file header, then 64 KiB chunks. A chunk starts with a
// 128-byte header followed by string and template offset tables; records
// start at 512 and run to the chunk's free-space offset.
const (
	fileHeaderSize   = 4096
	chunkSize        = evtx.ChunkSize
	chunkHeaderSize  = evtx.ChunkHeaderSize
	firstRecord      = 512
	recordHeaderSize = evtx.EventHeaderSize
	recordMinSize    = recordHeaderSize + 4 // header and trailing size copy
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte(evtx.ChunkMagic)
	recordMagic = []byte(evtx.EventMagic)
)

// ReadEVTX reads the EVTX data in r (size bytes, named name in errors and
// origins) and emits its events in record order.
//
// Chunks are found at every 64 KiB slot after the file header, whatever the
// header says, so a damaged or stale header loses nothing; slots of zeros
// are unused and skipped quietly. Chunks are read one at a time, so memory
// does not grow with the file. A chunk whose header is unusable is reported
// and skipped; a record that cannot be decoded is reported and skipped, and
// decoding resumes at the next record header.
//
// The returned error is ctx's or emit's; problems with the data go to report.
func ReadEVTX(ctx context.Context, r io.ReaderAt, size int64, name string, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	rd := &evtxReader{r: r, size: size, name: name, opts: opts, rep: reporter{fn: report}}
	err := rd.run(ctx, emit)
	rd.stats.Errors = rd.rep.errors
	return rd.stats, err
}

type evtxReader struct {
	r     io.ReaderAt
	size  int64
	name  string
	opts  Options
	rep   reporter
	stats Stats
}

// chunkRef is a chunk found in the file, before its records are read.
type chunkRef struct {
	index  int
	offset int64
	first  uint64 // first record id, the order chunks are read in
}

func (rd *evtxReader) errorf(chunk int, record uint64, offset int64, format string, args ...any) {
	rd.rep.report(&Error{Path: rd.name, Chunk: chunk, Record: record, Offset: offset, Err: fmt.Errorf(format, args...)})
}

func (rd *evtxReader) run(ctx context.Context, emit EmitFunc) error {
	chunks, err := rd.findChunks(ctx, rd.checkFileHeader())
	if err != nil {
		return err
	}
	buf := make([]byte, chunkSize)
	for _, c := range chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := rd.r.ReadAt(buf, c.offset)
		rd.stats.Bytes += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			rd.errorf(c.index, 0, c.offset, "reading chunk: %w", err)
			continue
		}
		if n < chunkSize {
			rd.errorf(c.index, 0, c.offset, "chunk truncated to %d bytes; reading what is there", n)
			clear(buf[n:])
		}
		for _, res := range decodeChunk(buf, n, c.index, c.offset, rd.name, rd.opts) {
			if res.err != nil {
				rd.rep.report(res.err)
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(res.raw); err != nil {
				return fmt.Errorf("%s: chunk %d: record %d: %w", rd.name, c.index, res.raw.RecordID, err)
			}
			rd.stats.Records++
		}
	}
	return nil
}

// checkFileHeader reports a damaged file header and returns the chunk count
// it declares (0 when damaged). Nothing else depends on the header: chunks
// are located by scanning.
func (rd *evtxReader) checkFileHeader() int {
	var hdr evtx.FileHeader
	b := make([]byte, binary.Size(hdr))
	n, err := rd.r.ReadAt(b, 0)
	rd.stats.Bytes += int64(n)
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		rd.errorf(-1, 0, 0, "reading file header: %w; scanning for chunks", err)
	case n < len(b):
		rd.errorf(-1, 0, 0, "file header truncated (%d bytes); scanning for chunks", n)
	case !bytes.Equal(b[:len(fileMagic)], fileMagic):
		rd.errorf(-1, 0, 0, "damaged file header (magic %q); scanning for chunks", b[:len(fileMagic)])
	default:
		if _, err := binary.Decode(b, binary.LittleEndian, &hdr); err == nil {
			return int(hdr.ChunkCount)
		}
	}
	return 0
}

// findChunks reads the header of every 64 KiB slot and returns the chunks
// in record order: a log that wrapped around keeps its oldest chunk in the
// middle of the file. A slot that is not a chunk is reported when it lies
// where chunks are (before the last one found, or within the count the file
// header declares); past them, preallocated space holds zeros or stale
// bytes of no interest.
func (rd *evtxReader) findChunks(ctx context.Context, declared int) ([]chunkRef, error) {
	var chunks []chunkRef
	var bad []*Error
	hdr := make([]byte, chunkHeaderSize)
	for i, off := 0, int64(fileHeaderSize); off < rd.size; i, off = i+1, off+chunkSize {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		n, err := rd.r.ReadAt(hdr, off)
		h := hdr[:n]
		switch {
		case err != nil && !errors.Is(err, io.EOF):
			rd.errorf(i, 0, off, "reading chunk header: %w", err)
		case bytes.HasPrefix(h, chunkMagic) && n == chunkHeaderSize:
			// Counted in Stats.Bytes when the whole chunk is read.
			first := binary.LittleEndian.Uint64(h[24:32])
			chunks = append(chunks, chunkRef{index: i, offset: off, first: first})
			continue
		case bytes.HasPrefix(h, chunkMagic):
			rd.errorf(i, 0, off, "chunk cut off after %d bytes, inside its header", n)
		case isZero(h) || n < len(chunkMagic):
		default:
			bad = append(bad, &Error{Path: rd.name, Chunk: i, Offset: off, Err: fmt.Errorf("bad chunk magic %q", h[:len(chunkMagic)])})
		}
		rd.stats.Bytes += int64(n)
	}
	limit := declared
	if len(chunks) > 0 {
		limit = max(limit, chunks[len(chunks)-1].index+1)
	}
	for _, e := range bad {
		if e.Chunk < limit {
			rd.rep.report(e)
		}
	}
	slices.SortStableFunc(chunks, func(a, b chunkRef) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return chunks, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// recordResult is one record's outcome: an event or the error that replaced it.
type recordResult struct {
	raw *event.Raw
	err *Error
}

// decodeChunk decodes every record of one chunk. data holds its 64 KiB, of
// which the first valid bytes were in the file (the rest is zeros). It
// depends on nothing outside its arguments, so chunks can be decoded apart
// and their results emitted in order.
func decodeChunk(data []byte, valid int, index int, fileOff int64, name string, opts Options) (out []recordResult) {
	fail := func(record uint64, off int64, err error) {
		out = append(out, recordResult{err: &Error{Path: name, Chunk: index, Record: record, Offset: off, Err: err}})
	}
	defer func() {
		if p := recover(); p != nil {
			fail(0, fileOff, fmt.Errorf("chunk decoding panicked: %v", p))
		}
	}()
	var h evtx.ChunkHeader
	if _, err := binary.Decode(data, binary.LittleEndian, &h); err != nil {
		fail(0, fileOff, fmt.Errorf("chunk header: %w", err))
		return out
	}
	// The free-space offset marks where records end; a damaged one would
	// hide records or invent them, so fall back to the whole chunk.
	end, trusted := int64(h.Freespace), true
	if end < firstRecord || end > chunkSize {
		fail(0, fileOff, fmt.Errorf("chunk free-space offset %#x out of range; reading to the chunk's end", h.Freespace))
		end, trusted = chunkSize, false
	}
	dec := newRecordDecoder(data, fileOff)
	// skip reports the damage at off and moves to the next record header
	// after it, if any.
	skip := func(id uint64, off int64, what string) int64 {
		next := bytes.Index(data[off+1:end], recordMagic)
		if next < 0 {
			fail(id, fileOff+off, fmt.Errorf("%s; no record header after it in this chunk", what))
			return end
		}
		fail(id, fileOff+off, fmt.Errorf("%s; skipped %d bytes to the next record header", what, next+1))
		return off + 1 + int64(next)
	}
	for off := int64(firstRecord); off+recordMinSize <= end; {
		if off >= int64(valid) {
			break // the file ends here, as reported already
		}
		if !bytes.Equal(data[off:off+4], recordMagic) {
			if isZero(data[off:end]) {
				if trusted {
					fail(0, fileOff+off, fmt.Errorf("zeros where records should be, up to the chunk's free-space offset %#x", end))
				}
				break
			}
			off = skip(0, off, "no record header")
			continue
		}
		size := int64(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		id := binary.LittleEndian.Uint64(data[off+8 : off+16])
		if size < recordMinSize || off+size > chunkSize {
			off = skip(id, off, fmt.Sprintf("bad record size %d", size))
			continue
		}
		if off+size > int64(valid) {
			fail(id, fileOff+off, errors.New("record cut off by the end of the file"))
			break
		}
		raw, err := decodeRecord(dec, off, opts.KeepXML)
		if err != nil {
			// The size copy that ends a record is not checked up front: a
			// record whose copy was never written (the log was not closed
			// cleanly) still decodes. When decoding fails it hints at why.
			if copySize := binary.LittleEndian.Uint32(data[off+size-4 : off+size]); int64(copySize) != size {
				err = fmt.Errorf("%w (record size %d, trailing copy %d)", err, size, copySize)
			}
			fail(id, fileOff+off, err)
		} else {
			raw.Origin = event.Origin{Kind: event.SourceEVTX, Path: name, Chunk: index, Offset: fileOff + off, Received: opts.now()}
			if raw.RecordID == 0 {
				raw.RecordID = id
			}
			out = append(out, recordResult{raw: raw})
		}
		off += size
	}
	return out
}

func decodeRecord(dec *recordDecoder, off int64, keepXML bool) (*event.Raw, error) {
	ev, err := dec.decode(off)
	if err != nil {
		return nil, err
	}
	raw, err := toRaw(ev)
	if err != nil {
		return nil, err
	}
	if keepXML {
		raw.XML = renderXML(ev)
	}
	return raw, nil
}
