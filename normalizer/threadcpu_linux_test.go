package normalizer

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time the calling thread has used (RUSAGE_THREAD),
// which, unlike wall time, a loaded machine does not inflate with time
// spent waiting for a core.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
