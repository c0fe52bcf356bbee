// Package batch gathers the items waiting on a channel into one batch, for
// the writers that commit several at once: the spool writer (group
// commit), the webhook outbox, the HTTP API's status tracker and the
// evidence index.
package batch

// Take returns first followed by the items waiting on ch now, up to max
// in all. It never waits for an item; a closed channel ends the batch.
func Take[T any](first T, ch <-chan T, max int) []T {
	out := []T{first}
	for len(out) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, v)
		default:
			return out
		}
	}
	return out
}

// Run hands write every batch that Take gathers from ch, one after the
// other, until ch is closed and empty.
func Run[T any](ch <-chan T, max int, write func([]T)) {
	for v := range ch {
		write(Take(v, ch, max))
	}
}
