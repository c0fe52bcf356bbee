package encrypt

import (
	"context"
	"log/slog"
	"time"

	"github.com/sealgate/sealgate/internal/periodic"
)

// Reloader is a key source that can follow changes of its folder
// (*pgp.Keyring and *smime.CertStore implement it).
type Reloader interface {
	ReloadIfChanged(now time.Time) (bool, error)
}

// Watcher reloads key sources whose folders changed, every interval, until
// Close.
type Watcher struct {
	loop *periodic.Loop
}

// Watch starts a Watcher over srcs. A failed reload keeps the previous keys
// and is logged.
func Watch(interval time.Duration, log *slog.Logger, srcs ...Reloader) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{loop: periodic.Start(context.Background(), interval, false,
		func(_ context.Context, now time.Time) { ReloadAll(now, log, srcs...) })}
}

// ReloadAll reloads every source whose folder changed (what a SIGHUP or
// the Watcher does).
func ReloadAll(now time.Time, log *slog.Logger, srcs ...Reloader) {
	for _, s := range srcs {
		if _, err := s.ReloadIfChanged(now); err != nil {
			log.Warn("key folder reload failed; previous keys stay in use", slog.String("error", err.Error()))
		}
	}
}

// Close stops the Watcher and waits for it.
func (w *Watcher) Close() { w.loop.Stop() }
