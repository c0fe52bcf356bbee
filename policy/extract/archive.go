package extract

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/ulikunitz/xz"
)

// ctxReader stops a decompression when the check's time is up.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// readLimited reads r into memory, charging the bytes to the extraction's budget. It
// returns what was read and ErrTooLarge past the budget, ErrZipCorrupt on a broken
// stream, or the context's error.
func (x *extractor) readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(ctxReader{x.ctx, r}, max(x.budget, 0)+1))
	x.budget -= int64(len(data))
	switch {
	case x.budget < 0:
		return data[:max(0, len(data)-1)], ErrTooLarge
	case err != nil && x.ctx.Err() != nil:
		return data, ErrTooLarge
	case err != nil:
		return data, ErrZipCorrupt
	}
	return data, nil
}

// compressed decompresses a gzip, xz or bzip2 stream within the budget and extracts
// what it holds like any attachment, by the inner name and the inner bytes.
func (x *extractor) compressed(kind string, d Doc, name string, depth int) {
	if depth >= x.lim.MaxDepth {
		x.unreadable(ReasonLimit)
		return
	}
	inner := innerName(d.Filename)
	var r io.Reader
	var err error
	switch kind {
	case "gzip":
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(d.Data)); err == nil {
			zr.Multistream(true)
			if zr.Name != "" {
				inner = path.Base(strings.ReplaceAll(zr.Name, "\\", "/"))
			}
			r = zr
		}
	case "xz":
		cfg := xz.ReaderConfig{SingleStream: false}
		r, err = cfg.NewReader(bytes.NewReader(d.Data))
	case "bzip2":
		r = bzip2.NewReader(bytes.NewReader(d.Data))
	}
	if err != nil {
		x.unreadable(ReasonCorrupt)
		return
	}
	data, err := x.readLimited(r)
	x.doc(Doc{Filename: inner, Data: data}, path.Join(name, inner), depth+1)
	x.archiveError(err)
}

// innerName is the name of what a compressed file holds: "labs.csv.gz" holds
// "labs.csv", "x.tgz" holds "x.tar".
func innerName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	lower := strings.ToLower(name)
	for _, s := range []struct{ ext, repl string }{
		{".tgz", ".tar"}, {".txz", ".tar"}, {".tbz2", ".tar"}, {".tbz", ".tar"},
		{".gz", ""}, {".xz", ""}, {".bz2", ""},
	} {
		if strings.HasSuffix(lower, s.ext) {
			return name[:len(name)-len(s.ext)] + s.repl
		}
	}
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// tar extracts every regular file of a tar archive, within the entry count and budget.
func (x *extractor) tar(data []byte, name string, depth int) {
	if depth >= x.lim.MaxDepth {
		x.unreadable(ReasonLimit)
		return
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			x.unreadable(ReasonCorrupt)
			return
		}
		if n >= x.lim.MaxZipEntries {
			x.unreadable(ReasonLimit)
			return
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeGNUSparse {
			continue // directories, links, devices: nothing to read
		}
		body, err := x.readLimited(tr)
		x.doc(Doc{Filename: h.Name, Data: body}, path.Join(name, h.Name), depth+1)
		if err != nil {
			x.archiveError(err)
			return
		}
	}
}

// archiveError records why an archive could not be read to its end.
func (x *extractor) archiveError(err error) {
	switch {
	case err == nil:
	case errors.Is(err, ErrZipEncrypted):
		x.unreadable(ReasonEncrypted)
	case errors.Is(err, ErrZipCorrupt):
		x.unreadable(ReasonCorrupt)
	case errors.Is(err, ErrZipUnsupported):
		x.unreadable(ReasonUnsupported)
	default:
		x.unreadable(ReasonLimit)
	}
}
