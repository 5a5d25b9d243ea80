// Package datadir guards a data directory (the embedded NATS server's
// JetStream store) with a lock file, so that one weft process at a time
// opens it: a second server on the same files would see them change under
// it, and a tool run beside weft run (weft alerts dlq replay) would empty
// a queue the running weft keeps serving from its own copy.
//
// The lock is an advisory lock on the file weft.lock in the directory
// (flock on Unix, LockFileEx on Windows). The operating system drops it
// when the process ends, however it ends, so a lock left by a killed
// process is not held: there is nothing stale to clean up.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file in a data directory.
const FileName = "weft.lock"

// HeldError says that another process holds a data directory.
type HeldError struct {
	// Dir is the data directory; PID the holder's process id as it wrote
	// it in the lock file, 0 when unknown.
	Dir string
	PID int
}

func (e *HeldError) Error() string {
	who := "another weft process"
	if e.PID > 0 {
		who += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("data directory %s is in use by %s", e.Dir, who)
}

// IsHeld reports whether err is, or wraps, a *HeldError.
func IsHeld(err error) bool {
	var h *HeldError
	return errors.As(err, &h)
}

// Lock is a data directory held by this process.
type Lock struct {
	dir string
	f   *os.File
}

// Acquire takes the lock of dir, which must exist, without waiting: when
// another process (or another Lock of this one) holds it, it returns a
// *HeldError. The lock file keeps the holder's pid, for that message.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	held, err := lock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s: lock %s: %w", dir, path, err)
	}
	if held {
		pid := readPID(path)
		f.Close()
		return nil, &HeldError{Dir: dir, PID: pid}
	}
	// Only the holder writes: the pid is there for the message above.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{dir: dir, f: f}, nil
}

// Release lets the directory go. The lock file stays: removing it could
// let two processes lock two different files of the same name.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("data directory %s: unlock: %w", l.dir, err)
	}
	return nil
}

// readPID reads the holder's pid from the lock file, 0 when it cannot.
func readPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil || len(data) > 32 {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
