package queue

import (
	"time"

	"github.com/sealgate/sealgate/mail"
)

// DefaultSchedule is the retry schedule used when none is configured
// (mail.DefaultRetrySchedule).
var DefaultSchedule = mail.DefaultRetrySchedule

// DefaultMaxAge is how long a message may stay in the queue by default
// before its remaining recipients are bounced (mail.DefaultMaxAge).
const DefaultMaxAge = mail.DefaultMaxAge

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
