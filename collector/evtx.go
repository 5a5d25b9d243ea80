package collector

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/0xrawsec/golang-evtx/evtx"
	"github.com/weft-dev/weft/event"
)

// EVTX layout: a 4 KiB file header, then 64 KiB chunks. A chunk starts with a
// 128-byte header followed by string and template offset tables; records
// start at 512 and run to the chunk's free-space offset.
const (
	fileHeaderSize   = 4096
	fileHeaderFields = 128 // the part of the file header that holds anything
	chunkSize        = evtx.ChunkSize
	chunkHeaderSize  = evtx.ChunkHeaderSize
	firstRecord      = 512
	recordHeaderSize = evtx.EventHeaderSize
	recordMinSize    = recordHeaderSize + 4 // header and trailing size copy

	// Both headers keep flags at 120 and a CRC32 at 124. The file header's
	// covers its first 120 bytes; a chunk header's covers its first 120
	// bytes and the tables (128 to 512), and the chunk header keeps at 52
	// the CRC32 of its records (512 to the free-space offset).
	flagsOffset      = 120
	checksumOffset   = 124
	recordsCRCOffset = 52
	// flagNoCRC32, in the file or a chunk header, says the checksums were
	// never written (some tools that write EVTX leave them out).
	flagNoCRC32 = 0x4
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
// past the chunks the header declares are unused and skipped quietly.
// Checksums are verified as Windows writes them: a chunk whose header does
// not verify is still read, its records located by scanning rather than by
// the header's free-space offset, and a chunk whose records do not verify
// is read record by record; either is reported once. A record that cannot
// be decoded is reported and skipped, and decoding resumes at the next
// record header. A record whose id lies outside its chunk's declared range
// (a chunk caught while Windows was rewriting it) is kept when no other
// chunk holds that id, and dropped quietly as a stale copy when one does.
//
// Chunks are decoded on Options.Workers goroutines while the file is read
// in order; a fixed pool of chunk buffers and a bounded queue of decoded
// chunks keep memory flat whatever the file's size.
//
// The returned error is ctx's or emit's; problems with the data go to report.
func ReadEVTX(ctx context.Context, r io.ReaderAt, size int64, name string, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	rd := &evtxReader{r: r, size: size, name: name, opts: opts, rep: reporter{fn: report, counters: opts.Counters}}
	err := rd.run(ctx, emit)
	rd.stats.Errors, rd.stats.Warnings = rd.rep.errors, rd.rep.warnings
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
	key    uint64 // the order chunks are read in: their first record id
	// trusted is set when the header verified (or carries no checksum):
	// then its free-space offset and record id range are believed.
	trusted bool
	noCRC   bool
	ids     idRange
	// carved, when not zero, is where the first record header lies in a
	// slot that has no chunk header.
	carved int64
	// resumeAfter, when not zero, is the file offset of the last record
	// of this chunk a checkpoint says was delivered.
	resumeAfter int64
}

type idRange struct{ first, last uint64 }

func (rd *evtxReader) errorf(chunk int, record uint64, offset int64, format string, args ...any) {
	rd.rep.report(rd.newError(chunk, record, offset, format, args...))
}

func (rd *evtxReader) newError(chunk int, record uint64, offset int64, format string, args ...any) *Error {
	return &Error{Path: rd.name, Chunk: chunk, Record: record, Offset: offset, Err: fmt.Errorf(format, args...)}
}

// span is how many bytes of the file the slot at off covers.
func (rd *evtxReader) span(off int64) int64 {
	return max(0, min(chunkSize, rd.size-off))
}

func (rd *evtxReader) run(ctx context.Context, emit EmitFunc) error {
	if rd.size == 0 {
		rd.errorf(-1, 0, 0, "empty file (0 bytes)")
		return nil
	}
	hdr := rd.fileHeader()
	chunks, err := rd.findChunks(ctx, hdr)
	if err != nil {
		return err
	}
	env := &chunkEnv{name: rd.name, opts: rd.opts, held: newHeldIDs(chunks), templates: newTemplateCache()}
	chunks = rd.resume(chunks)
	return rd.decodeChunks(ctx, chunks, env, emit)
}

// fileHeaderInfo is what the reader takes from the file header.
type fileHeaderInfo struct {
	declared int  // chunk count; 0 when the header is damaged
	noCRC    bool // checksums were not written
}

// fileHeader reports a damaged file header and returns what it declares.
// Nothing else depends on the header: chunks are located by scanning.
func (rd *evtxReader) fileHeader() fileHeaderInfo {
	rd.opts.addBytes(&rd.stats, min(rd.size, fileHeaderSize))
	b := make([]byte, fileHeaderFields)
	n, err := rd.r.ReadAt(b, 0)
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		rd.errorf(-1, 0, 0, "reading file header: %w; scanning for chunks", err)
	case n < len(b):
		rd.errorf(-1, 0, 0, "file header truncated (%d bytes); scanning for chunks", n)
	case !bytes.Equal(b[:len(fileMagic)], fileMagic) && !rd.anyChunk():
		rd.errorf(-1, 0, 0, "%w: neither the EVTX file header (it starts with %q) nor any chunk", ErrNotEventLog, b[:len(fileMagic)])
	case !bytes.Equal(b[:len(fileMagic)], fileMagic):
		rd.errorf(-1, 0, 0, "damaged file header (magic %q); scanning for chunks", b[:len(fileMagic)])
	default:
		var h evtx.FileHeader
		if _, err := binary.Decode(b, binary.LittleEndian, &h); err != nil {
			rd.errorf(-1, 0, 0, "file header: %w; scanning for chunks", err)
			return fileHeaderInfo{}
		}
		info := fileHeaderInfo{declared: int(h.ChunkCount), noCRC: h.Flags&flagNoCRC32 != 0}
		if stored, computed := h.CheckSum, crc32.ChecksumIEEE(b[:flagsOffset]); !info.noCRC && stored != computed {
			rd.errorf(-1, 0, 0, "file header checksum mismatch (stored %#08x, computed %#08x); scanning for chunks", stored, computed)
			return fileHeaderInfo{noCRC: info.noCRC}
		}
		return info
	}
	return fileHeaderInfo{}
}

// anyChunk tells whether any slot starts with the chunk magic.
func (rd *evtxReader) anyChunk() bool {
	magic := make([]byte, len(chunkMagic))
	for off := int64(fileHeaderSize); off < rd.size; off += chunkSize {
		if n, _ := rd.r.ReadAt(magic, off); n == len(magic) && bytes.Equal(magic, chunkMagic) {
			return true
		}
	}
	return false
}

// slotPeek is how much of each slot findChunks reads: the chunk header,
// its tables (the header checksum covers them) and the first record header.
const slotPeek = firstRecord + recordHeaderSize

// findChunks reads the head of every 64 KiB slot and returns the chunks
// in record order: a log that wrapped around keeps its oldest chunk in the
// middle of the file. A slot that is not a chunk but lies where chunks are
// (before the last one found, or within the count the file header
// declares) is reported, and the records left in it, if any, are carved
// out; past the chunks, preallocated space holds zeros or stale bytes of
// no interest.
func (rd *evtxReader) findChunks(ctx context.Context, hdr fileHeaderInfo) ([]chunkRef, error) {
	var chunks []chunkRef
	type slot struct {
		index  int
		offset int64
		magic  []byte // nil when the slot starts with zeros
	}
	var odd []slot
	head := make([]byte, slotPeek)
	slots := 0
	for i, off := 0, int64(fileHeaderSize); off < rd.size; i, off = i+1, off+chunkSize {
		slots++
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		n, err := rd.r.ReadAt(head, off)
		h := head[:n]
		switch {
		case err != nil && !errors.Is(err, io.EOF):
			rd.errorf(i, 0, off, "reading chunk header: %w", err)
		case bytes.HasPrefix(h, chunkMagic) && n >= firstRecord:
			// Counted in Stats.Bytes when the chunk is read.
			chunks = append(chunks, rd.chunkRef(i, off, h, hdr.noCRC))
			continue
		case bytes.HasPrefix(h, chunkMagic):
			rd.errorf(i, 0, off, "chunk cut off after %d bytes, inside its header", n)
		case n < len(chunkMagic) || isZero(h[:min(n, firstRecord)]):
			odd = append(odd, slot{index: i, offset: off})
			continue
		default:
			odd = append(odd, slot{index: i, offset: off, magic: bytes.Clone(h[:len(chunkMagic)])})
			continue
		}
		rd.opts.addBytes(&rd.stats, rd.span(off))
	}
	if hdr.declared > slots {
		rd.errorf(-1, 0, fileHeaderSize+int64(slots)*chunkSize, "file header declares %d chunks, the file ends after %d: it was cut short", hdr.declared, slots)
	}
	limit := hdr.declared
	if len(chunks) > 0 {
		limit = max(limit, slices.MaxFunc(chunks, func(a, b chunkRef) int { return a.index - b.index }).index+1)
	}
	for _, o := range odd {
		if o.index < limit {
			if c, ok := rd.carve(o.index, o.offset, o.magic); ok {
				chunks = append(chunks, c)
				continue
			}
		}
		rd.opts.addBytes(&rd.stats, rd.span(o.offset))
	}
	slices.SortStableFunc(chunks, func(a, b chunkRef) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return chunks, nil
}

// carve looks at a slot among the chunks that has no chunk header (magic
// holds what is there instead, nil for zeros). It reports the slot, and
// returns a chunk to read when record headers are left in it: records
// whose templates survive still decode.
func (rd *evtxReader) carve(i int, off int64, magic []byte) (chunkRef, bool) {
	what := "chunk slot holds zeros"
	if magic != nil {
		what = fmt.Sprintf("bad chunk magic %q", magic)
	}
	buf := make([]byte, rd.span(off))
	n, err := rd.r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		rd.errorf(i, 0, off, "%s; reading the slot: %w", what, err)
		return chunkRef{}, false
	}
	buf = buf[:n]
	at := bytes.Index(buf, recordMagic)
	for at >= 0 && at+recordHeaderSize > len(buf) {
		at = -1
	}
	if at < 0 {
		switch {
		case magic != nil:
			rd.errorf(i, 0, off, "%s", what)
		case isZero(buf):
			rd.errorf(i, 0, off, "%s among the file's chunks: its records are gone", what)
		default:
			rd.errorf(i, 0, off, "chunk slot starts with zeros and holds no record header")
		}
		return chunkRef{}, false
	}
	if magic == nil {
		what = "chunk slot has no chunk header (zeros)"
	}
	rd.errorf(i, 0, off, "%s; reading the records left in it", what)
	return chunkRef{index: i, offset: off, carved: int64(at), key: binary.LittleEndian.Uint64(buf[at+8:])}, true
}

// chunkRef checks the header of the chunk in slot i (h holds at least its
// first 512 bytes) and reports it when its checksum fails.
func (rd *evtxReader) chunkRef(i int, off int64, h []byte, fileNoCRC bool) chunkRef {
	c := chunkRef{index: i, offset: off}
	c.ids = idRange{binary.LittleEndian.Uint64(h[24:32]), binary.LittleEndian.Uint64(h[32:40])}
	c.key = c.ids.first
	c.noCRC = fileNoCRC || binary.LittleEndian.Uint32(h[flagsOffset:])&flagNoCRC32 != 0
	stored := binary.LittleEndian.Uint32(h[checksumOffset:])
	computed := crc32.Update(crc32.ChecksumIEEE(h[:flagsOffset]), crc32.IEEETable, h[chunkHeaderSize:firstRecord])
	c.trusted = c.noCRC || stored == computed
	if !c.trusted {
		rd.errorf(i, 0, off, "chunk header checksum mismatch (stored %#08x, computed %#08x); its records are located by scanning", stored, computed)
		// The first record says better where the chunk belongs than a
		// header that failed its checksum.
		if len(h) >= slotPeek && bytes.HasPrefix(h[firstRecord:], recordMagic) {
			c.key = binary.LittleEndian.Uint64(h[firstRecord+8:])
		}
	}
	return c
}

// resume drops the chunks a checkpoint says were read already.
func (rd *evtxReader) resume(chunks []chunkRef) []chunkRef {
	if rd.opts.Resume == nil {
		return chunks
	}
	at := rd.opts.Resume.Offset
	for k, c := range chunks {
		if at >= c.offset && at < c.offset+chunkSize {
			for _, done := range chunks[:k] {
				rd.opts.addBytes(&rd.stats, rd.span(done.offset))
			}
			chunks[k].resumeAfter = at
			return chunks[k:]
		}
	}
	rd.errorf(-1, 0, at, "checkpoint lies in no chunk of this file; reading it all again")
	return chunks
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// heldIDs answers whether some chunk declares a record id: the trusted
// chunks' ranges sorted by first id, with the greatest last id so far.
type heldIDs struct {
	ranges  []idRange
	maxLast []uint64
}

func newHeldIDs(chunks []chunkRef) *heldIDs {
	h := &heldIDs{}
	for _, c := range chunks {
		if c.trusted && c.ids.first <= c.ids.last {
			h.ranges = append(h.ranges, c.ids)
		}
	}
	slices.SortFunc(h.ranges, func(a, b idRange) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	var top uint64
	for _, r := range h.ranges {
		top = max(top, r.last)
		h.maxLast = append(h.maxLast, top)
	}
	return h
}

func (h *heldIDs) holds(id uint64) bool {
	// The ranges starting at or before id; one of them reaches id if the
	// greatest end among them does.
	n := sort.Search(len(h.ranges), func(i int) bool { return h.ranges[i].first > id })
	return n > 0 && h.maxLast[n-1] >= id
}

// chunkEnv is what the chunks of one file share while they are decoded;
// what it holds is read only or safe for concurrent use, so decoders can
// run side by side.
type chunkEnv struct {
	name      string
	opts      Options
	held      *heldIDs
	templates *templateCache
	// decoders keeps weft's chunk decoders for reuse: their maps and
	// buffers, not what events point into.
	decoders sync.Pool
}

// chunkTask is one chunk on its way through the pipeline: read, decoded,
// delivered.
type chunkTask struct {
	ref     chunkRef
	buf     []byte
	n       int  // bytes read into buf
	failed  bool // the read failed; nothing to decode
	results []recordResult
	done    chan struct{}
}

// readChunk reads t's chunk into t.buf; problems become results, so they
// are reported in order with the chunk's records.
func (rd *evtxReader) readChunk(t *chunkTask) {
	n, err := rd.r.ReadAt(t.buf, t.ref.offset)
	if err != nil && !errors.Is(err, io.EOF) {
		t.failed = true
		t.results = append(t.results, recordResult{err: rd.newError(t.ref.index, 0, t.ref.offset, "reading chunk: %w", err)})
		return
	}
	if n < chunkSize {
		t.results = append(t.results, recordResult{err: rd.newError(t.ref.index, 0, t.ref.offset, "chunk truncated to %d bytes; reading what is there", n)})
		clear(t.buf[n:])
	}
	t.n = n
}

func (t *chunkTask) decode(env *chunkEnv) {
	if !t.failed {
		t.results = append(t.results, decodeChunk(t.buf, t.n, t.ref, env)...)
	}
}

// deliver emits t's events and reports its problems, in chunk order.
func (rd *evtxReader) deliver(ctx context.Context, t *chunkTask, emit EmitFunc) error {
	rd.opts.addBytes(&rd.stats, rd.span(t.ref.offset))
	for _, res := range t.results {
		if res.err != nil {
			rd.rep.report(res.err)
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(res.raw); err != nil {
			return fmt.Errorf("%s: chunk %d: record %d: %w", rd.name, t.ref.index, res.raw.RecordID, err)
		}
		rd.opts.countRecord(&rd.stats)
	}
	return nil
}

// decodeChunks decodes chunks on the workers and delivers them in order.
// One goroutine reads the file front to back, so a disk is read
// sequentially; the workers decode; this goroutine emits. Memory is
// bounded by the buffer pool and the queue, both twice the workers.
func (rd *evtxReader) decodeChunks(ctx context.Context, chunks []chunkRef, env *chunkEnv, emit EmitFunc) error {
	workers := min(rd.opts.workers(), len(chunks))
	if workers <= 1 {
		buf := make([]byte, chunkSize)
		for _, c := range chunks {
			if err := ctx.Err(); err != nil {
				return err
			}
			t := &chunkTask{ref: c, buf: buf}
			rd.readChunk(t)
			t.decode(env)
			if err := rd.deliver(ctx, t, emit); err != nil {
				return err
			}
		}
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	depth := 2 * workers
	free := make(chan []byte, depth)
	for range depth {
		free <- make([]byte, chunkSize)
	}
	todo := make(chan *chunkTask)
	queue := make(chan *chunkTask, depth)
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() {
		defer wg.Done()
		defer close(todo)
		defer close(queue)
		for _, c := range chunks {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			t := &chunkTask{ref: c, buf: buf, done: make(chan struct{})}
			rd.readChunk(t)
			select {
			case queue <- t:
			case <-ctx.Done():
				return
			}
			select {
			case todo <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer wg.Done()
			for t := range todo {
				t.decode(env)
				free <- t.buf // never blocks: the pool has room for every buffer
				t.buf = nil
				close(t.done)
			}
		}()
	}
	err := func() error {
		for t := range queue {
			select {
			case <-t.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := rd.deliver(ctx, t, emit); err != nil {
				return err
			}
		}
		return ctx.Err()
	}()
	cancel()
	wg.Wait()
	return err
}

// recordResult is one record's outcome: an event or the error that replaced it.
type recordResult struct {
	raw *event.Raw
	err *Error
}

// decodeChunk decodes every record of chunk c. data holds its 64 KiB, of
// which the first valid bytes were in the file (the rest is zeros). It
// depends on nothing but its arguments, so chunks can be decoded apart and
// their results emitted in order.
func decodeChunk(data []byte, valid int, c chunkRef, env *chunkEnv) (out []recordResult) {
	// A chunk holds a few dozen to a few hundred records.
	out = make([]recordResult, 0, 64)
	fileOff := c.offset
	fail := func(record uint64, off int64, err error) {
		out = append(out, recordResult{err: &Error{Path: env.name, Chunk: c.index, Record: record, Offset: off, Err: err}})
	}
	defer func() {
		if p := recover(); p != nil {
			fail(0, fileOff, fmt.Errorf("chunk decoding panicked: %v", p))
		}
	}()
	start := int64(firstRecord)
	if c.carved > 0 {
		start = c.carved
	}
	var h evtx.ChunkHeader
	if _, err := binary.Decode(data, binary.LittleEndian, &h); err != nil {
		fail(0, fileOff, fmt.Errorf("chunk header: %w", err))
		return out
	}
	// The free-space offset marks where records end; a damaged one would
	// hide records or invent them, so without it read to the chunk's end.
	end, bounded := int64(chunkSize), false
	if c.trusted {
		if fs := int64(h.Freespace); fs >= firstRecord && fs <= chunkSize {
			end, bounded = fs, true
		} else {
			fail(0, fileOff, fmt.Errorf("chunk free-space offset %#x out of range; reading to the chunk's end", h.Freespace))
		}
	}
	checksum := -1 // the index in out of a records checksum mismatch
	if bounded && !c.noCRC && end <= int64(valid) {
		if computed := crc32.ChecksumIEEE(data[firstRecord:end]); computed != h.CheckSum {
			checksum = len(out)
			fail(0, fileOff, fmt.Errorf("records checksum mismatch (stored %#08x, computed %#08x); each record is checked on its own", h.CheckSum, computed))
		}
	}
	records := recordDecoders{data: data, fileOff: fileOff, keepXML: env.opts.KeepXML, reference: env.opts.Decoder == DecoderGolangEVTX, noFallback: env.opts.Decoder == decoderWeftOnly, templates: env.templates, pool: &env.decoders}
	defer records.release()
	// next returns the offset of the next record header after off, or end.
	next := func(off int64) int64 {
		if k := bytes.Index(data[off+1:end], recordMagic); k >= 0 {
			return off + 1 + int64(k)
		}
		return end
	}
	// skip reports the damage at off and moves past it.
	skip := func(id uint64, off int64, what string) int64 {
		n := next(off)
		switch {
		case n == end && !bounded && id == 0:
			// Slack after the last record of a chunk read to its end.
		case n == end:
			fail(id, fileOff+off, fmt.Errorf("%s; no record header after it in this chunk", what))
		default:
			fail(id, fileOff+off, fmt.Errorf("%s; skipped %d bytes to the next record header", what, n-off))
		}
		return n
	}
	for off := start; off+recordHeaderSize <= end && off < int64(valid); {
		if !bytes.Equal(data[off:off+4], recordMagic) {
			if isZero(data[off:end]) {
				if bounded {
					fail(0, fileOff+off, fmt.Errorf("zeros where records should be, up to the chunk's free-space offset %#x", end))
				}
				break
			}
			off = skip(0, off, "no record header")
			continue
		}
		size := int64(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		id := binary.LittleEndian.Uint64(data[off+8 : off+16])
		sized := size >= recordMinSize && off+size <= chunkSize
		if sized && off+size > int64(valid) {
			fail(id, fileOff+off, errors.New("record cut off by the end of the file"))
			break
		}
		after := off + size
		if !sized {
			after = next(off)
		}
		if fileOff+off <= c.resumeAfter {
			off = after
			continue
		}
		if c.trusted && (id < c.ids.first || id > c.ids.last) && env.held.holds(id) {
			// A stale copy left by an earlier pass of the log over this
			// chunk; the chunk that holds the record reads it.
			off = after
			continue
		}
		limit := end
		if sized {
			limit = off + size
		}
		raw, err := records.decode(off, limit)
		if err != nil {
			if why := templateGone(data, off+recordHeaderSize); why != nil {
				err = why
			}
		}
		switch {
		case err == nil:
			// BinXML ends itself, so a record whose size field was never
			// written (Windows fills it last) still decodes.
			raw.Origin = event.Origin{Kind: event.SourceEVTX, Path: env.name, Chunk: c.index, Offset: fileOff + off, Received: env.opts.now()}
			if raw.RecordID == 0 {
				raw.RecordID = id
			}
			out = append(out, recordResult{raw: raw})
			off = after
		case !sized:
			off = skip(id, off, fmt.Sprintf("bad record size %d (%v)", size, err))
		case isZero(data[off+recordHeaderSize : off+size-4]):
			fail(id, fileOff+off, errors.New("record body is zeros (wiped, or never written)"))
			off = after
		default:
			// The size copy that ends a record is not checked up front: a
			// record whose copy was never written still decodes. When
			// decoding fails it hints at why.
			if copySize := binary.LittleEndian.Uint32(data[off+size-4 : off+size]); int64(copySize) != size {
				err = fmt.Errorf("%w (record size %d, trailing copy %d)", err, size, copySize)
			}
			fail(id, fileOff+off, err)
			off = after
		}
	}
	if checksum >= 0 && !slices.ContainsFunc(out[checksum+1:], func(r recordResult) bool { return r.err != nil }) {
		// A mismatch with every record read after all cost nothing: the
		// damage lies in bytes no record needs, or in the checksum
		// itself. A warning, not an error.
		e := out[checksum].err
		e.Warning = true
		e.Err = fmt.Errorf("%w; every record of the chunk was read", e.Err)
	}
	return out
}

// templateGone explains a record that failed to decode because the
// template definition it refers to is not in the chunk any more: zeroed,
// or overwritten by something else (the record's own bytes may be fine).
// A record starts with a fragment header (0x0f and three bytes), then a
// template instance: 0x0c, a byte, the template id, the definition offset.
func templateGone(data []byte, body int64) error {
	if body+14 > int64(len(data)) || data[body] != evtx.FragmentHeaderToken || data[body+4] != evtx.TokenTemplateInstance {
		return nil
	}
	id := binary.LittleEndian.Uint32(data[body+6:])
	def := int64(binary.LittleEndian.Uint32(data[body+10:]))
	switch {
	case def+24 > int64(len(data)):
		return fmt.Errorf("BinXML: template definition offset %#x lies outside the chunk", def)
	case isZero(data[def : def+24]):
		return fmt.Errorf("BinXML: its template definition at chunk offset %#x is gone (zeros there)", def)
	case binary.LittleEndian.Uint32(data[def+4:]) != id:
		return fmt.Errorf("BinXML: its template definition at chunk offset %#x is gone (template %#08x there, want %#08x)", def, binary.LittleEndian.Uint32(data[def+4:]), id)
	}
	return nil
}

// recordDecoders decodes the records of one chunk: with weft's decoder,
// and with golang-evtx for the records weft's rejects, or for all of them
// when it is asked for as the reference.
type recordDecoders struct {
	data       []byte
	fileOff    int64
	keepXML    bool
	reference  bool
	noFallback bool
	templates  *templateCache
	pool       *sync.Pool
	weft       *bxChunk
	golang     *recordDecoder
}

// decode decodes the record at chunk offset off, whose bytes end by limit.
func (d *recordDecoders) decode(off, limit int64) (*event.Raw, error) {
	var werr error
	if !d.reference {
		if d.weft == nil {
			d.weft = newBXChunk(d.data, d.templates, d.pool)
		}
		raw, err := d.weft.record(int(off), int(limit), d.keepXML)
		if err == nil {
			return raw, nil
		}
		if d.noFallback {
			return nil, err
		}
		werr = err
	}
	if d.golang == nil {
		d.golang = newRecordDecoder(d.data, d.fileOff)
	}
	raw, err := decodeRecord(d.golang, off, d.keepXML)
	if err != nil && werr != nil {
		return nil, werr
	}
	return raw, err
}

// release hands weft's decoder back for the next chunk.
func (d *recordDecoders) release() {
	if d.weft != nil {
		d.weft.release(d.pool)
	}
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
