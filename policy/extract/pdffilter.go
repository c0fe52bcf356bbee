package extract

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"io"
)

// Stream filter errors (ISO 32000-1 §7.4).
var (
	errPDFImageFilter = errors.New("extract: pdf image filter")       // DCT, JPX, JBIG2, CCITT: pixels, no text
	errPDFFilter      = errors.New("extract: unsupported pdf filter") // unknown filter or parameters
	errPDFCorrupt     = errors.New("extract: corrupt pdf stream")
)

// pdfFilters returns the filter names and their parameters of a stream dictionary.
func pdfFilters(d pdfDict, res func(any) any) ([]string, []pdfDict) {
	var names []string
	var parms []pdfDict
	switch f := res(d["Filter"]).(type) {
	case pdfName:
		names = []string{string(f)}
	case []any:
		for _, v := range f {
			if n, ok := res(v).(pdfName); ok {
				names = append(names, string(n))
			} else {
				names = append(names, "?")
			}
		}
	case nil:
		if d["Filter"] != nil {
			names = []string{""} // a reference to no object: the stream's coding is lost
		}
	default:
		names = []string{"?"}
	}
	switch p := res(d["DecodeParms"]).(type) {
	case pdfDict:
		parms = []pdfDict{p}
	case []any:
		for _, v := range p {
			pd, _ := res(v).(pdfDict)
			parms = append(parms, pd)
		}
	}
	for len(parms) < len(names) {
		parms = append(parms, nil)
	}
	return names, parms
}

// pdfDecode applies a stream's filters in order, never producing more than limit bytes
// from any of them.
func pdfDecode(data []byte, names []string, parms []pdfDict, limit int64) ([]byte, error) {
	for k, name := range names {
		var err error
		data, err = pdfFilter(name, parms[k], data, limit)
		if err != nil {
			return data, err
		}
	}
	return data, nil
}

func pdfFilter(name string, p pdfDict, data []byte, limit int64) ([]byte, error) {
	switch name {
	case "":
		return nil, errPDFCorrupt
	case "FlateDecode", "Fl":
		out, err := inflate(data, limit)
		if err != nil {
			return out, err
		}
		return pdfPredict(out, p)
	case "LZWDecode", "LZW":
		early := 1
		if v, ok := p["EarlyChange"].(float64); ok {
			early = int(v)
		}
		out, err := lzwDecode(data, early == 1, limit)
		if err != nil {
			return out, err
		}
		return pdfPredict(out, p)
	case "ASCIIHexDecode", "AHx":
		if e := bytes.IndexByte(data, '>'); e >= 0 {
			data = data[:e]
		}
		return hexBytes(data), nil
	case "ASCII85Decode", "A85":
		return ascii85Decode(data, limit)
	case "RunLengthDecode", "RL":
		return runLengthDecode(data, limit)
	case "Crypt":
		if n, _ := p["Name"].(pdfName); n == "" || n == "Identity" {
			return data, nil
		}
		return nil, ErrPDFEncrypted
	case "DCTDecode", "DCT", "JPXDecode", "JBIG2Decode", "CCITTFaxDecode", "CCF":
		return nil, errPDFImageFilter
	}
	return nil, errPDFFilter
}

// inflate decompresses zlib data, or raw deflate data when the zlib header is missing.
// A wrong checksum is forgiven (some producers write none); a stream cut short is not.
func inflate(data []byte, limit int64) ([]byte, error) {
	var r io.ReadCloser
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		r = flate.NewReader(bytes.NewReader(data))
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case int64(len(out)) > limit:
		return nil, ErrTooLarge
	case err == nil || errors.Is(err, zlib.ErrChecksum):
		return out, nil
	}
	return out, errPDFCorrupt
}

// pdfPredict undoes a PNG (Predictor >= 10) or TIFF (Predictor 2) predictor.
func pdfPredict(data []byte, p pdfDict) ([]byte, error) {
	pred := intParam(p, "Predictor", 1)
	if pred <= 1 {
		return data, nil
	}
	colors, bpc, cols := intParam(p, "Colors", 1), intParam(p, "BitsPerComponent", 8), intParam(p, "Columns", 1)
	if colors < 1 || colors > 32 || cols < 1 || cols > 1<<20 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return nil, errPDFFilter
	}
	bpp := max(1, colors*bpc/8)
	row := (colors*bpc*cols + 7) / 8
	if pred == 2 {
		if bpc != 8 {
			return nil, errPDFFilter
		}
		for s := 0; s+row <= len(data); s += row {
			for i := bpp; i < row; i++ {
				data[s+i] += data[s+i-bpp]
			}
		}
		return data, nil
	}
	if pred < 10 {
		return nil, errPDFFilter
	}
	return pngUnfilter(data, row, bpp)
}

func intParam(p pdfDict, key string, def int) int {
	if v, ok := p[key].(float64); ok {
		return int(v)
	}
	return def
}

// pngUnfilter reverses PNG row filters (RFC 2083 §6): each row starts with its type.
func pngUnfilter(data []byte, row, bpp int) ([]byte, error) {
	out := make([]byte, 0, len(data))
	prev := make([]byte, row)
	for s := 0; s < len(data); s += row + 1 {
		if s+1 > len(data) {
			break
		}
		ft := data[s]
		cur := make([]byte, row)
		copy(cur, data[s+1:min(s+1+row, len(data))])
		for i := 0; i < row; i++ {
			var a, c byte
			if i >= bpp {
				a, c = cur[i-bpp], prev[i-bpp]
			}
			b := prev[i]
			switch ft {
			case 0:
			case 1:
				cur[i] += a
			case 2:
				cur[i] += b
			case 3:
				cur[i] += byte((int(a) + int(b)) / 2)
			case 4:
				cur[i] += paeth(a, b, c)
			default:
				return out, errPDFCorrupt
			}
		}
		out = append(out, cur...)
		prev = cur
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// ascii85Decode decodes ASCII base-85 data up to its "~>" end marker.
func ascii85Decode(data []byte, limit int64) ([]byte, error) {
	data = bytes.TrimPrefix(bytes.TrimLeft(data, " \t\r\n\f\x00"), []byte("<~"))
	if e := bytes.Index(data, []byte("~>")); e >= 0 {
		data = data[:e]
	}
	if int64(len(data)) > limit*2 {
		return nil, ErrTooLarge
	}
	out := make([]byte, 4*len(data)/5+8+4*bytes.Count(data, []byte("z")))
	n, _, err := ascii85.Decode(out, data, true)
	if err != nil {
		return out[:n], errPDFCorrupt
	}
	if int64(n) > limit {
		return nil, ErrTooLarge
	}
	return out[:n], nil
}

// runLengthDecode decodes the PackBits-like RunLengthDecode filter.
func runLengthDecode(data []byte, limit int64) ([]byte, error) {
	var out []byte
	for i := 0; i < len(data); {
		n := int(data[i])
		i++
		switch {
		case n == 128:
			return out, nil
		case n < 128:
			end := min(i+n+1, len(data))
			out = append(out, data[i:end]...)
			i = end
		default:
			if i < len(data) {
				out = append(out, bytes.Repeat(data[i:i+1], 257-n)...)
			}
			i++
		}
		if int64(len(out)) > limit {
			return nil, ErrTooLarge
		}
	}
	return out, nil
}

// lzwDecode decodes LZW data as PDF writes it (ISO 32000-1 §7.4.4): MSB-first codes of
// 9 to 12 bits, 256 clears the table, 257 ends the data. With early change (the PDF
// default, EarlyChange 1) the code width grows one code earlier than in GIF, which is
// why compress/lzw cannot be used.
func lzwDecode(data []byte, early bool, limit int64) ([]byte, error) {
	const clear, eod = 256, 257
	var (
		prefix [4096]int
		suffix [4096]byte
		first  [4096]byte
		length [4096]int
	)
	for c := 0; c < 256; c++ {
		prefix[c], suffix[c], first[c], length[c] = -1, byte(c), byte(c), 1
	}
	next, width, prev := 258, 9, -1
	var out []byte
	var acc uint32
	bits := 0
	e := 0
	if early {
		e = 1
	}
	for i := 0; ; {
		for bits < width && i < len(data) {
			acc = acc<<8 | uint32(data[i])
			bits += 8
			i++
		}
		if bits < width {
			return out, nil // the data ended without EOD: what was decoded stands
		}
		code := int(acc>>(bits-width)) & (1<<width - 1)
		bits -= width
		switch {
		case code == clear:
			next, width, prev = 258, 9, -1
			continue
		case code == eod:
			return out, nil
		case code > next || (code == next && prev < 0):
			return out, errPDFCorrupt
		}
		if prev >= 0 && next < 4096 {
			prefix[next], first[next], length[next] = prev, first[prev], length[prev]+1
			if code == next {
				suffix[next] = first[prev]
			} else {
				suffix[next] = first[code]
			}
			next++
		}
		out = appendLZW(out, code, &prefix, &suffix, &length)
		if int64(len(out)) > limit {
			return nil, ErrTooLarge
		}
		prev = code
		if next+e >= 1<<width && width < 12 {
			width++
		}
	}
}

// appendLZW appends the string of code, which is built backwards from its suffixes.
func appendLZW(out []byte, code int, prefix *[4096]int, suffix *[4096]byte, length *[4096]int) []byte {
	n := length[code]
	start := len(out)
	out = append(out, make([]byte, n)...)
	for k := start + n - 1; k >= start && code >= 0; k-- {
		out[k] = suffix[code]
		code = prefix[code]
	}
	return out
}
