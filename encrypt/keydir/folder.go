package keydir

import (
	"fmt"
	"log/slog"
	"time"
)

// Folder is an Index with the behaviour the OpenPGP keyring and the S/MIME
// certificate store share: Reload logs what it loaded and names the folder
// in its error, and ReloadIfChanged reloads only when the folder changed.
type Folder[T any] struct {
	*Index[T]
	// Name prefixes errors ("pgp: keyring"); Loaded is the log message
	// ("pgp keyring loaded") and Unit the name of the count ("keys").
	Name, Loaded, Unit string
	Log                *slog.Logger
}

// Reload reads the folder again and replaces the index, for SIGHUP or a
// change of the folder. On error the previous index stays in use.
func (f *Folder[T]) Reload(now time.Time) error {
	files, n, err := f.Index.Reload(now)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	f.Log.Info(f.Loaded, slog.String("dir", f.dir), slog.Int("files", files), slog.Int(f.Unit, n))
	return nil
}

// ReloadIfChanged reloads when a file of the folder was added, removed or
// rewritten since the last load, and reports whether it did. Call it
// periodically to follow changes without a SIGHUP.
func (f *Folder[T]) ReloadIfChanged(now time.Time) (bool, error) {
	changed, err := f.Changed()
	if err != nil {
		return false, fmt.Errorf("%s: %w", f.Name, err)
	}
	if !changed {
		return false, nil
	}
	return true, f.Reload(now)
}
