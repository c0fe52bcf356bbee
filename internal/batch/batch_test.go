package batch

import (
	"slices"
	"testing"
)

// Take gathers what waits, no more than max, and never blocks.
func TestTakeGathersWhatWaitsUpToMax(t *testing.T) {
	ch := make(chan int, 10)
	for i := 1; i <= 5; i++ {
		ch <- i
	}
	if got := Take(0, ch, 3); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("Take with max 3 = %v, want [0 1 2]", got)
	}
	if got := Take(9, ch, 10); !slices.Equal(got, []int{9, 3, 4, 5}) {
		t.Fatalf("Take of what is left = %v, want [9 3 4 5]", got)
	}
	// Nothing waits: only first, at once.
	if got := Take(7, ch, 10); !slices.Equal(got, []int{7}) {
		t.Fatalf("Take of an empty channel = %v, want [7]", got)
	}
	ch <- 8
	close(ch)
	if got := Take(6, ch, 10); !slices.Equal(got, []int{6, 8}) {
		t.Fatalf("Take of a closed channel = %v, want [6 8]", got)
	}
}

// Run writes every item once, in order, in batches no larger than max,
// and returns when the channel is closed.
func TestRunWritesEveryItemInOrder(t *testing.T) {
	ch := make(chan int, 100)
	for i := range 100 {
		ch <- i
	}
	close(ch)
	var got []int
	batches := 0
	Run(ch, 16, func(b []int) {
		if len(b) == 0 || len(b) > 16 {
			t.Errorf("batch of %d", len(b))
		}
		batches++
		got = append(got, b...)
	})
	want := make([]int, 100)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Run wrote %v", got)
	}
	if batches != 7 {
		t.Fatalf("%d batches for 100 waiting items of at most 16, want 7", batches)
	}
}
