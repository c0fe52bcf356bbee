package mail

import "time"

// DefaultRetrySchedule is how long a message waits between delivery
// attempts when the configuration names no schedule; its last step
// repeats. Callers that change a schedule copy it first.
var DefaultRetrySchedule = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}

// DefaultMaxAge is how long a message may stay queued by default before
// its remaining recipients are bounced.
const DefaultMaxAge = 120 * time.Hour
