package testenv

import (
	"syscall"
	"time"
)

// CPUTime is the process's user plus system CPU time so far, 0 if it cannot
// be read. A benchmark on a machine it shares reports CPU time per
// operation beside the wall-clock figures: other work taking turns on the
// cores stretches the wall clock, not the CPU time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
