package queue

import (
	"testing"
	"time"

	"github.com/sealgate/sealgate/mail"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	sched := []time.Duration{time.Minute, 5 * time.Minute, time.Hour}
	cases := []struct {
		failed int
		want   time.Duration
	}{
		{0, 0},
		{-3, 0},
		{1, time.Minute},
		{2, 5 * time.Minute},
		{3, time.Hour},
		{4, time.Hour},
		{100, time.Hour},
	}
	for _, c := range cases {
		if got := Backoff(sched, c.failed); got != c.want {
			t.Errorf("Backoff(%d) = %v, want %v", c.failed, got, c.want)
		}
	}
	if got := Backoff(nil, 2); got != mail.DefaultRetrySchedule[1] {
		t.Errorf("default schedule: got %v, want %v", got, mail.DefaultRetrySchedule[1])
	}
}
