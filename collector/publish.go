package collector

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// Stdin is the Input path that means standard input (EVTX, XML or
// NDJSON, told by its first bytes).
const Stdin = "-"

// Publish reads each input in turn and publishes its events as raw batches
// on weft.raw.<computer>. Problems inside an input go to report and the
// read goes on; an input that cannot be opened is reported and skipped.
// Only a bus failure or ctx ending stops it, and that is returned.
// stdin is read for the Input named Stdin.
func Publish(ctx context.Context, b *bus.Bus, inputs []Input, stdin io.Reader, opts Options, report ReportFunc) (Stats, error) {
	p := NewPublisher(b, nil, opts, report)
	var total Stats
	for _, in := range inputs {
		st, err := p.Publish(ctx, in, stdin)
		total.add(st)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Publisher publishes the events of files on the bus, as raw batches on
// weft.raw.<computer>, each batch with a message id made of its events'
// identities so that JetStream drops a batch sent twice.
//
// With Checkpoints, it also records in the key-value store, each time a
// round of batches has reached the bus, the last record of the file that
// did; a later Publish of the same file (by FileID, whatever its path)
// resumes after it, and skips a file read to its end that has not grown.
// Batches are cut the same way on every read from a given checkpoint, so
// when a process dies after a round reached the bus but before its
// checkpoint was stored, the round sent again carries the same message
// ids and the stream's duplicate window (two minutes) drops it.
//
// A Publisher is safe for concurrent use; each Publish has its own batches.
type Publisher struct {
	bus         *bus.Bus
	checkpoints *Checkpoints
	opts        Options
	report      ReportFunc

	// mu guards what Lag reports: the files being read with checkpoints
	// and when a checkpoint was last stored.
	mu       sync.Mutex
	inFlight map[*unsaved]struct{}
	saved    time.Time
	// done stands in for the checkpoints when there are none (weft hunt):
	// the files read to their end so far, by FileID, so that a copy of
	// one is skipped all the same. Guarded by mu.
	done map[FileID]Checkpoint
}

// unsaved is what one Publish has read beyond its last checkpoint.
type unsaved struct {
	records int64
	since   time.Time // when the first of them was read
}

// Lag is how far a Publisher's checkpoints trail its reading: what a
// restart now would read a second time.
type Lag struct {
	// Records read and not yet covered by a checkpoint, over every file
	// being read.
	Records int64
	// Oldest is when the oldest of them was read; zero when there is none.
	Oldest time.Time
	// Saved is when a checkpoint was last stored; zero before the first.
	Saved time.Time
}

// Lag reports how far the checkpoints trail the reading, now.
func (p *Publisher) Lag() Lag {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := Lag{Saved: p.saved}
	for u := range p.inFlight {
		if u.records == 0 {
			continue
		}
		l.Records += u.records
		if l.Oldest.IsZero() || u.since.Before(l.Oldest) {
			l.Oldest = u.since
		}
	}
	return l
}

// track counts a file's reading in Lag until the returned func is called.
func (p *Publisher) track() (*unsaved, func()) {
	u := &unsaved{}
	p.mu.Lock()
	if p.inFlight == nil {
		p.inFlight = map[*unsaved]struct{}{}
	}
	p.inFlight[u] = struct{}{}
	p.mu.Unlock()
	return u, func() {
		p.mu.Lock()
		delete(p.inFlight, u)
		p.mu.Unlock()
	}
}

// read counts one record read beyond the checkpoint.
func (p *Publisher) read(u *unsaved) {
	p.mu.Lock()
	if u.records == 0 {
		u.since = time.Now()
	}
	u.records++
	p.mu.Unlock()
}

// caughtUp records that a checkpoint now covers everything u read.
func (p *Publisher) caughtUp(u *unsaved) {
	p.mu.Lock()
	u.records, u.since, p.saved = 0, time.Time{}, time.Now()
	p.mu.Unlock()
}

// NewPublisher returns a Publisher; checkpoints may be nil (no resuming).
// report receives the problems found in inputs, and the inputs that could
// not be read at all.
func NewPublisher(b *bus.Bus, checkpoints *Checkpoints, opts Options, report ReportFunc) *Publisher {
	return &Publisher{bus: b, checkpoints: checkpoints, opts: opts, report: report}
}

// Publish reads one input and publishes its events. A problem with the
// input is reported, counted in the returned Stats and not returned; only a
// bus or checkpoint store failure, or ctx ending, is returned. stdin is
// read for the Input named Stdin, which has no checkpoint.
func (p *Publisher) Publish(ctx context.Context, in Input, stdin io.Reader) (Stats, error) {
	opts := p.opts
	var (
		track bool
		id    FileID
		cp    Checkpoint
	)
	switch {
	case p.checkpoints != nil && in.Path != Stdin:
		var err error
		id, cp, track, err = p.checkpoint(ctx, in)
		if err != nil {
			return p.inputFailed(err)
		}
		if cp.Complete && cp.Size == p.size(in) {
			return p.alreadyRead(in, cp), nil
		}
		opts.Resume = cp.resume()
	case in.Path != Stdin:
		// A file that cannot be identified is still read: the read
		// reports why it cannot be opened, if it cannot.
		if id, _ = Identify(in.Path); id != "" {
			p.mu.Lock()
			first, ok := p.done[id]
			p.mu.Unlock()
			if ok && first.Size == p.size(in) {
				return p.alreadyRead(in, first), nil
			}
		}
	}
	base, sent := cp.Records, 0
	out := newRounds(p.bus)
	var lag *unsaved
	if track {
		var done func()
		lag, done = p.track()
		defer done()
	}
	var busErr error
	emit := func(r *event.Raw) error {
		if track {
			p.read(lag)
		}
		published, err := out.add(ctx, r)
		sent++
		if err == nil && published && track {
			cp.Offset, cp.Records = r.Origin.Offset, base+sent
			if err = p.save(ctx, id, in, &cp, false); err == nil {
				p.caughtUp(lag)
			}
		}
		if err != nil {
			busErr = err
		}
		return err
	}
	st, err := Read(ctx, in, stdin, opts, emit, p.report)
	st.Delivered = base
	switch {
	case busErr != nil:
		return st, busErr
	case ctx.Err() != nil:
		return st, ctx.Err()
	case err != nil && !IsInputError(err):
		return st, err
	case err != nil:
		// Not read to its end (it could not be opened, or reading it
		// failed): the checkpoint stays where the last round left it.
		st.Errors++
		p.reportInput(err)
		return st, out.flush(ctx)
	}
	if err := out.flush(ctx); err != nil {
		return st, err
	}
	if !track && id != "" {
		p.mu.Lock()
		if p.done == nil {
			p.done = map[FileID]Checkpoint{}
		}
		p.done[id] = Checkpoint{Path: in.Path, Size: p.size(in), Records: sent, Complete: true}
		p.mu.Unlock()
	}
	if track {
		if sent > 0 {
			cp.Offset, cp.Records = out.last, base+sent
		}
		if err := p.save(ctx, id, in, &cp, true); err != nil {
			return st, err
		}
		p.caughtUp(lag)
	}
	return st, nil
}

// alreadyRead is the Publish of a file whose content was read to its end
// before, as cp says: nothing is read again. When that was at another
// path that still holds the file, this one is a copy (a backup dropped
// twice, a folder given twice under two names): it is counted and told to
// Options.Duplicate, so that it is not skipped silently. A file read
// before at its own path (a restart), or moved here since, is no copy.
func (p *Publisher) alreadyRead(in Input, cp Checkpoint) Stats {
	st := Stats{Delivered: cp.Records}
	if cp.Path == "" || cp.Path == in.Path {
		return st
	}
	first, err := os.Stat(cp.Path)
	if err != nil {
		return st
	}
	if this, err := os.Stat(in.Path); err == nil && os.SameFile(first, this) {
		return st
	}
	st.Duplicates = 1
	if p.opts.Counters != nil {
		p.opts.Counters.Duplicates.Add(1)
	}
	if p.opts.Duplicate != nil {
		p.opts.Duplicate(in.Path, cp.Path)
	}
	return st
}

// checkpoint identifies the file and fetches its checkpoint. A file that
// cannot be identified is an input error; a store failure is not.
func (p *Publisher) checkpoint(ctx context.Context, in Input) (FileID, Checkpoint, bool, error) {
	id, err := Identify(in.Path)
	if err != nil {
		return "", Checkpoint{}, false, fileError(in.Path, err)
	}
	cp, _, err := p.checkpoints.Get(ctx, id)
	if err != nil {
		return "", Checkpoint{}, false, err
	}
	return id, cp, true, nil
}

// inputFailed ends the Publish of an input that could not be read at all.
func (p *Publisher) inputFailed(err error) (Stats, error) {
	if !IsInputError(err) {
		return Stats{}, err
	}
	if p.opts.Counters != nil {
		p.opts.Counters.Files.Add(1)
	}
	p.reportInput(err)
	return Stats{Errors: 1}, nil
}

// reportInput reports a problem the readers did not report themselves.
func (p *Publisher) reportInput(err error) {
	if p.opts.Counters != nil {
		p.opts.Counters.Errors.Add(1)
	}
	if p.report != nil {
		p.report(err)
	}
}

func (p *Publisher) size(in Input) int64 {
	info, err := os.Stat(in.Path)
	if err != nil {
		return -1
	}
	return info.Size()
}

func (p *Publisher) save(ctx context.Context, id FileID, in Input, cp *Checkpoint, complete bool) error {
	cp.Path, cp.Size, cp.Complete, cp.Updated = in.Path, p.size(in), complete, time.Now().UTC()
	return p.checkpoints.Put(ctx, id, *cp)
}

// rounds batches a file's events per subject. When one subject's batch is
// full, every pending batch is published: after a round nothing read is
// left behind, so the last record read is a checkpoint, and the rounds
// cut from a given record onwards are always the same.
type rounds struct {
	bus     *bus.Bus
	size    int
	pending map[string]*roundBatch
	order   []string
	last    int64 // Origin.Offset of the last event added
}

type roundBatch struct {
	items []*event.Raw
	ids   []string
}

func newRounds(b *bus.Bus) *rounds {
	return &rounds{bus: b, size: b.BatchSize(), pending: map[string]*roundBatch{}}
}

// add queues r and publishes a round when its batch is full; published
// tells whether r, and every event before it, has reached the bus.
func (rs *rounds) add(ctx context.Context, r *event.Raw) (published bool, err error) {
	subject := bus.Subject(bus.SubjectRaw, r.Computer)
	p := rs.pending[subject]
	if p == nil {
		p = &roundBatch{}
		rs.pending[subject] = p
		rs.order = append(rs.order, subject)
	}
	p.items = append(p.items, r)
	p.ids = append(p.ids, r.Identity())
	rs.last = r.Origin.Offset
	if len(p.items) < rs.size {
		return false, nil
	}
	return true, rs.flush(ctx)
}

// flush publishes every pending batch, subjects in the order first seen.
func (rs *rounds) flush(ctx context.Context) error {
	for _, subject := range rs.order {
		p := rs.pending[subject]
		// An event NATS refuses (one too big for a message) is
		// dead-lettered with where it was read, and the round goes on.
		source := func(i int) string { return bus.DescribeOrigin(p.items[i].Origin) }
		if err := bus.PublishItems(ctx, rs.bus, subject, "raw", p.items, p.ids, source); err != nil {
			return err
		}
	}
	clear(rs.pending)
	rs.order = rs.order[:0]
	return nil
}

// Read reads one input: a file Expand found, or standard input (EVTX,
// XML or NDJSON, told by its first bytes) for the Input named Stdin.
func Read(ctx context.Context, in Input, stdin io.Reader, opts Options, emit EmitFunc, report ReportFunc) (Stats, error) {
	if in.Path == Stdin {
		if stdin == nil {
			return Stats{}, &Error{Path: Stdin, Chunk: -1, Offset: -1, Err: errors.New("no standard input here")}
		}
		return readStdin(ctx, stdin, opts, emit, report)
	}
	return ReadInput(ctx, in, opts, emit, report)
}

// IsInputError reports whether err is a problem with the input (counted
// and skipped) rather than a failure of weft itself.
func IsInputError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
