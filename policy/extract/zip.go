package extract

import (
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"path"
	"strings"
)

// Archive errors. Each means the archive cannot be cleared.
var (
	ErrZipEncrypted   = errors.New("extract: encrypted archive entry")
	ErrZipEntries     = errors.New("extract: too many archive entries")
	ErrZipCorrupt     = errors.New("extract: unreadable archive")
	ErrZipUnsupported = errors.New("extract: archive entry compressed with an unsupported method")
)

// zipEntry is one file read from an archive.
type zipEntry struct {
	name string
	data []byte
}

// openZip opens an archive, with bzip2 (method 12) besides store and deflate.
func openZip(src []byte, maxEntries int) (*zip.Reader, error) {
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return nil, ErrZipCorrupt
	}
	if len(zr.File) > maxEntries {
		return nil, ErrZipEntries
	}
	zr.RegisterDecompressor(12, func(r io.Reader) io.ReadCloser { return io.NopCloser(bzip2.NewReader(r)) })
	return zr, nil
}

// readZip reads the entries of an archive that pass keep, never inflating more than
// budget bytes in all (sizes in the archive's directory are not trusted) nor reading
// more than maxEntries entries. An encrypted entry stops the reading.
func readZip(ctx context.Context, src []byte, keep func(string) bool, budget *int64, maxEntries int) ([]zipEntry, error) {
	zr, err := openZip(src, maxEntries)
	if err != nil {
		return nil, err
	}
	var out []zipEntry
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !keep(f.Name) {
			continue
		}
		if f.Flags&0x1 != 0 || f.Method == 99 { // traditional or AES (WinZip AE-x) encryption
			return out, ErrZipEncrypted
		}
		data, err := readEntry(ctx, f, budget)
		if err != nil {
			return out, err
		}
		out = append(out, zipEntry{name: f.Name, data: data})
	}
	return out, nil
}

func readEntry(ctx context.Context, f *zip.File, budget *int64) ([]byte, error) {
	rc, err := f.Open()
	if errors.Is(err, zip.ErrAlgorithm) {
		return nil, ErrZipUnsupported
	}
	if err != nil {
		return nil, ErrZipCorrupt
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(ctxReader{ctx, rc}, max(*budget, 0)+1))
	*budget -= int64(len(data))
	if *budget < 0 || ctx.Err() != nil {
		return nil, ErrTooLarge
	}
	if err != nil {
		return data, ErrZipCorrupt
	}
	return data, nil
}

// zip extracts an archive: an Office or OpenDocument package by its text parts,
// embedded documents and pictures; any other archive entry by entry, like attachments.
func (x *extractor) zip(data []byte, name string, depth int) {
	if depth >= x.lim.MaxDepth {
		x.unreadable(ReasonLimit)
		return
	}
	names, err := zipNames(data, x.lim.MaxZipEntries)
	if err != nil {
		x.archiveError(err)
		return
	}
	kind := officeKind(names)
	keep := func(string) bool { return true }
	if kind != "" {
		keep = func(n string) bool { return officeText(n) || officeEmbedded(n) || officeMedia(n) }
	}
	entries, err := readZip(x.ctx, data, keep, &x.budget, x.lim.MaxZipEntries)
	hasText, pictures := false, 0
	for _, e := range entries {
		sub := path.Join(name, e.name)
		switch {
		case kind == "" || officeEmbedded(e.name):
			x.doc(Doc{Filename: e.name, Data: e.data}, sub, depth+1)
		case officeText(e.name):
			t := OfficeXML(e.data)
			hasText = hasText || len(bytes.TrimSpace(t)) > 0
			x.text(sub, t)
		default: // a picture: PNG, JPEG, EMF ...
			pictures++
		}
	}
	if kind != "" && !hasText && pictures > 0 {
		x.unreadable(ReasonNoText) // a pasted scan or photo and no text: cannot be cleared
	}
	x.archiveError(err)
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

// officeText reports whether an entry of an Office package holds text that the
// application shows: the body, headers and footers, notes and comments, cells, slides,
// speaker notes, text boxes, chart labels and values, and the document properties.
func officeText(name string) bool {
	dir, file := path.Split(name)
	xml := strings.HasSuffix(file, ".xml")
	switch {
	case dir == "word/" && (file == "document.xml" || strings.HasPrefix(file, "header") ||
		strings.HasPrefix(file, "footer") || file == "comments.xml" || file == "footnotes.xml" ||
		file == "endnotes.xml"):
		return true
	case name == "xl/sharedStrings.xml" || (dir == "xl/worksheets/" && xml) ||
		(dir == "xl/drawings/" && xml) || (dir == "xl/" && strings.HasPrefix(file, "comments") && xml):
		return true
	case (dir == "ppt/slides/" || dir == "ppt/notesSlides/" || dir == "ppt/comments/") && xml:
		return true
	case strings.HasSuffix(dir, "/charts/") && strings.HasPrefix(file, "chart") && xml:
		return true
	case name == "docProps/core.xml" || name == "meta.xml" || name == "styles.xml":
		return true
	case file == "content.xml": // OpenDocument body, and of each embedded object
		return true
	}
	return false
}

// officeEmbedded reports a document embedded in an Office package (a spreadsheet in a
// letter, an OLE object): it is extracted like an attachment.
func officeEmbedded(name string) bool {
	return strings.HasPrefix(name, "word/embeddings/") || strings.HasPrefix(name, "xl/embeddings/") ||
		strings.HasPrefix(name, "ppt/embeddings/")
}

// officeMedia reports a picture of an Office package.
func officeMedia(name string) bool {
	return strings.HasPrefix(name, "word/media/") || strings.HasPrefix(name, "xl/media/") ||
		strings.HasPrefix(name, "ppt/media/") || strings.HasPrefix(name, "Pictures/")
}

// zipNames lists the entry names of an archive without reading any entry.
func zipNames(src []byte, maxEntries int) ([]string, error) {
	zr, err := openZip(src, maxEntries)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(zr.File))
	for i, f := range zr.File {
		names[i] = f.Name
	}
	return names, nil
}
