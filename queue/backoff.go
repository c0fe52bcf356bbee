package queue

import (
	"time"

	"github.com/sealgate/sealgate/mail"
)

// Backoff returns how long to wait after the given number of failed
// attempts (1 = the first attempt failed). The last step of the schedule
// repeats. It is the only place the schedule is interpreted; the
// configuration reference is generated from it.
func Backoff(schedule []time.Duration, failed int) time.Duration {
	if len(schedule) == 0 {
		schedule = mail.DefaultRetrySchedule
	}
	if failed < 1 {
		return 0
	}
	if failed > len(schedule) {
		failed = len(schedule)
	}
	return schedule[failed-1]
}
