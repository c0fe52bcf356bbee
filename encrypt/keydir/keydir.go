// Package keydir reads the folders of recipient keys and certificates that
// an operator maintains: which files count, how much of each is read, and a
// stamp that changes when the folder does, so it can be reloaded on change.
package keydir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxFile bounds how much of one file is read.
const MaxFile = 1 << 20

// ErrTooLarge is returned by Read for a file larger than MaxFile.
var ErrTooLarge = errors.New("keydir: file larger than 1 MiB")

// List returns the names of the regular, non-hidden files of dir, sorted.
func List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range ents {
		if !strings.HasPrefix(de.Name(), ".") && de.Type().IsRegular() {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Read reads a file of at most MaxFile bytes.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFile {
		return nil, ErrTooLarge
	}
	return data, nil
}

// Stamp summarises the names, sizes and modification times of the files
// List returns; it changes when a file is added, removed or rewritten.
func Stamp(dir string) (string, error) {
	names, err := List(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			continue // removed meanwhile: the next stamp differs anyway
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", n, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
