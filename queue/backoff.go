package queue

import "time"

// DefaultSchedule is the retry schedule used when none is configured.
var DefaultSchedule = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}

// DefaultMaxAge is how long a message may stay in the queue by default
// before its remaining recipients are bounced.
const DefaultMaxAge = 120 * time.Hour

// Backoff returns how long to wait after the given number of failed
// attempts (1 = the first attempt failed). The last step of the schedule
// repeats. It is the only place the schedule is interpreted; the
// configuration reference is generated from it.
func Backoff(schedule []time.Duration, failed int) time.Duration {
	if len(schedule) == 0 {
		schedule = DefaultSchedule
	}
	if failed < 1 {
		return 0
	}
	if failed > len(schedule) {
		failed = len(schedule)
	}
	return schedule[failed-1]
}
