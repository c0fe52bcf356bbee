package extract

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"path"
	"strings"
)

// Archive errors. Each means the archive cannot be cleared.
var (
	ErrZipEncrypted = errors.New("extract: encrypted archive entry")
	ErrZipEntries   = errors.New("extract: too many archive entries")
	ErrZipCorrupt   = errors.New("extract: unreadable archive")
)

// zipEntry is one file read from an archive.
type zipEntry struct {
	name string
	data []byte
}

// readZip reads the entries of an archive that pass keep, never inflating more than
// budget bytes in all (sizes in the archive's directory are not trusted) nor reading
// more than maxEntries entries.
func readZip(src []byte, keep func(string) bool, budget *int64, maxEntries int) ([]zipEntry, error) {
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return nil, ErrZipCorrupt
	}
	if len(zr.File) > maxEntries {
		return nil, ErrZipEntries
	}
	var out []zipEntry
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !keep(f.Name) {
			continue
		}
		if f.Flags&0x1 != 0 {
			return out, ErrZipEncrypted
		}
		data, err := readEntry(f, budget)
		if err != nil {
			return out, err
		}
		out = append(out, zipEntry{name: f.Name, data: data})
	}
	return out, nil
}

func readEntry(f *zip.File, budget *int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, ErrZipCorrupt
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, *budget+1))
	*budget -= int64(len(data))
	if *budget < 0 {
		return nil, ErrTooLarge
	}
	if err != nil {
		return data, ErrZipCorrupt
	}
	return data, nil
}

// officeKind tells which Office Open XML or OpenDocument package a set of names is.
func officeKind(zr []string) string {
	for _, n := range zr {
		switch {
		case n == "word/document.xml":
			return "docx"
		case n == "xl/workbook.xml":
			return "xlsx"
		case n == "ppt/presentation.xml":
			return "pptx"
		case n == "content.xml":
			return "odf"
		}
	}
	return ""
}

// officeText reports whether an entry of an Office package holds document text.
func officeText(name string) bool {
	dir, file := path.Split(name)
	switch {
	case dir == "word/" && (file == "document.xml" || strings.HasPrefix(file, "header") ||
		strings.HasPrefix(file, "footer") || file == "comments.xml" || file == "footnotes.xml"):
		return true
	case name == "xl/sharedStrings.xml" || (dir == "xl/worksheets/" && strings.HasSuffix(file, ".xml")):
		return true
	case dir == "ppt/slides/" && strings.HasSuffix(file, ".xml"):
		return true
	case name == "content.xml":
		return true
	}
	return false
}

// zipNames lists the entry names of an archive without reading any entry.
func zipNames(src []byte, maxEntries int) ([]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return nil, ErrZipCorrupt
	}
	if len(zr.File) > maxEntries {
		return nil, ErrZipEntries
	}
	names := make([]string, len(zr.File))
	for i, f := range zr.File {
		names[i] = f.Name
	}
	return names, nil
}
