package collector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// FileID names a file by its content, not its path, so a checkpoint
// follows a file that is renamed (Windows renames a full log to
// Archive-<channel>-<time>.evtx) or copied elsewhere.
//
// EVTX has no file GUID. The id of an EVTX file is a hash of its header's
// fields (chunk numbers, next record id: they move with every record
// written) and of the first 4 KiB of its first chunk (the records' CRC32 in
// the chunk header, the string and template tables, the first records),
// leaving out the flags and checksums that change when a log is closed.
// Two copies of one log share an id, which is right: their records are
// the same. A copy cut short shares its id with the whole file, so reading
// the whole file after the cut one resumes where the cut one ended.
//
// Other files (rendered XML) are named by their first 64 KiB.
type FileID string

const (
	idEVTXChunkPart = 4096
	idOtherPart     = 64 << 10
)

// Identify reads the start of the file at path and returns its FileID.
func Identify(path string) (FileID, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, fileHeaderSize+idEVTXChunkPart)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	head = head[:n]
	h := sha256.New()
	if len(head) >= fileHeaderFields && string(head[:len(fileMagic)]) == string(fileMagic) {
		h.Write([]byte("evtx\x00"))
		h.Write(head[:flagsOffset])
		if len(head) > fileHeaderSize {
			c := head[fileHeaderSize:]
			h.Write(c[:min(len(c), flagsOffset)])
			if len(c) > chunkHeaderSize {
				h.Write(c[chunkHeaderSize:])
			}
		}
	} else {
		h.Write([]byte("other\x00"))
		h.Write(head)
		if _, err := io.CopyN(h, f, idOtherPart-int64(n)); err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
	}
	return FileID(hex.EncodeToString(h.Sum(nil)[:16])), nil
}

// Checkpoint is how far a file has been read and delivered.
type Checkpoint struct {
	// Path is where the file was when last read; Size its size then.
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Offset is the Origin.Offset of the last record delivered, in the
	// order the reader emits them; Records counts the records delivered.
	// Offset means nothing while Records is 0.
	Offset  int64 `json:"offset"`
	Records int   `json:"records"`
	// Complete is set once the read reached the end of the file.
	Complete bool      `json:"complete"`
	Updated  time.Time `json:"updated"`
}

// resume is the Options.Resume that continues after cp.
func (cp Checkpoint) resume() *Position {
	if cp.Records == 0 {
		return nil
	}
	return &Position{Offset: cp.Offset}
}

// Checkpoints keeps Checkpoint values in a JetStream key-value bucket
// (bus.BucketCheckpoints), one key per FileID. It is safe for concurrent use.
type Checkpoints struct {
	kv jetstream.KeyValue
}

// NewCheckpoints keeps checkpoints in kv.
func NewCheckpoints(kv jetstream.KeyValue) *Checkpoints {
	return &Checkpoints{kv: kv}
}

func checkpointKey(id FileID) string { return "file." + string(id) }

// Get returns the checkpoint of a file; ok is false when it was never read.
func (c *Checkpoints) Get(ctx context.Context, id FileID) (cp Checkpoint, ok bool, err error) {
	e, err := c.kv.Get(ctx, checkpointKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	if err := json.Unmarshal(e.Value(), &cp); err != nil {
		// A value weft did not write: reading the file again loses
		// nothing, where trusting it could.
		return Checkpoint{}, false, nil
	}
	return cp, true, nil
}

// Put records a file's checkpoint.
func (c *Checkpoints) Put(ctx context.Context, id FileID, cp Checkpoint) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	if _, err := c.kv.Put(ctx, checkpointKey(id), data); err != nil {
		return fmt.Errorf("checkpoint %s: %w", id, err)
	}
	return nil
}
