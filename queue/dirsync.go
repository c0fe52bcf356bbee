package queue

import (
	"sync"

	"github.com/sealgate/sealgate/safeio"
)

// dirSyncer batches directory fsyncs: every caller waiting when a sync
// starts is covered by it, so many concurrent messages share one fsync
// (group commit).
type dirSyncer struct {
	dir  string
	reqs chan chan error
	wg   sync.WaitGroup
	once sync.Once
}

func newDirSyncer(dir string) *dirSyncer {
	d := &dirSyncer{dir: dir, reqs: make(chan chan error, 1024)}
	d.wg.Add(1)
	go d.run()
	return d
}

func (d *dirSyncer) run() {
	defer d.wg.Done()
	for first := range d.reqs {
		waiting := []chan error{first}
	drain:
		for {
			select {
			case r, ok := <-d.reqs:
				if !ok {
					break drain
				}
				waiting = append(waiting, r)
			default:
				break drain
			}
		}
		err := safeio.SyncDir(d.dir)
		for _, w := range waiting {
			w <- err
		}
	}
}

// sync returns once a directory fsync that started after the call has
// completed.
func (d *dirSyncer) sync() error {
	done := make(chan error, 1)
	d.reqs <- done
	return <-done
}

func (d *dirSyncer) close() {
	d.once.Do(func() { close(d.reqs) })
	d.wg.Wait()
}
