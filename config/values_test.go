package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	good := map[string]time.Duration{
		"90s": 90 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute,
		"2d": 48 * time.Hour, "1d12h": 36 * time.Hour, "0s": 0, "120h": 120 * time.Hour,
	}
	for in, want := range good {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "5", "5 minutes", "-5m", "d", "1.5d", "-1d", "2d-1h", "1w"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	good := map[string]int64{
		"4096": 4096, "25MB": 25_000_000, "25mb": 25_000_000, "10KiB": 10240, "10 KiB": 10240,
		"1GiB": 1 << 30, "2kB": 2000, "3M": 3 << 20, "7b": 7,
	}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "1.5MB", "25 MBs", "1TB", "99999999999999999999"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %v, want an error", in, got)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"10.0.0.0/8": "10.0.0.0/8", "10.1.2.3": "10.1.2.3/32", "::1": "::1/128",
		"::ffff:10.1.2.3": "10.1.2.3/32", "fd00::/8": "fd00::/8",
	}
	for in, want := range good {
		if got, err := parsePrefix(in); err != nil || got.String() != want {
			t.Errorf("parsePrefix(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/33", "10.0.0.1/8", "0.0.0.0/0", "::/0", "host.example", "10.0.0/8"} {
		if got, err := parsePrefix(in); err == nil {
			t.Errorf("parsePrefix(%q) = %v, want an error", in, got)
		}
	}
}

func TestNormFingerprint(t *testing.T) {
	t.Parallel()
	const hex = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
	colons := "3A:7B:D3:E2:36:0A:3D:29:EE:A4:36:FC:FB:7E:44:C7:35:D1:17:C4:2D:1C:18:35:42:0B:6B:99:42:DD:4F:1B"
	for _, in := range []string{hex, colons} {
		if got, err := normFingerprint(in); err != nil || got != hex {
			t.Errorf("normFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", hex[:62], hex + "00", "zz" + hex[2:]} {
		if _, err := normFingerprint(in); err == nil {
			t.Errorf("normFingerprint(%q): want an error", in)
		}
	}
}

func TestEndpointOverlaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"0.0.0.0:25", "0.0.0.0:25", true},
		{"0.0.0.0:25", "127.0.0.1:25", true},
		{":25", "10.0.0.1:25", true},
		{"[::]:25", "127.0.0.1:25", true},
		{"localhost:25", "127.0.0.1:25", true},
		{"0.0.0.0:25", "[::1]:25", false},
		{"127.0.0.1:25", "127.0.0.2:25", false},
		{"0.0.0.0:25", "0.0.0.0:587", false},
		{"127.0.0.1:0", "127.0.0.1:0", false},
	}
	for _, tc := range tests {
		a, errA := parseListen(tc.a)
		b, errB := parseListen(tc.b)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if a.overlaps(b) != tc.want || b.overlaps(a) != tc.want {
			t.Errorf("%s vs %s: overlaps = %v, want %v", tc.a, tc.b, !tc.want, tc.want)
		}
	}
}

func TestErrorsFormat(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	es := Errors{
		{File: "s.yaml", Line: 3, Key: "a.b", Msg: "bad"},
		{File: "s.yaml", Key: "c", Msg: "worse", Err: cause},
	}
	want := "s.yaml:3: a.b: bad\ns.yaml: c: worse"
	if es.Error() != want {
		t.Errorf("Error() = %q, want %q", es.Error(), want)
	}
	if !errors.Is(es, cause) {
		t.Error("errors.Is does not reach the cause")
	}
	var e *Error
	if !errors.As(es, &e) || e.Line != 3 {
		t.Errorf("errors.As gave %+v", e)
	}
}

// An alias bomb ends in an error, not in minutes of work.
func TestAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("x: &s [" + strings.Repeat(`"*", `, 2000) + "]\nclients:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {name: c%d, allowed_senders: *s}\n", i)
	}
	_, err := Decode("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Fatalf("err = %.300v, want too many values", err)
	}
}

// A config with hundreds of problems reports the first maxErrors and a
// count of the rest.
func TestErrorCap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("clients:\n")
	for i := range 150 {
		fmt.Fprintf(&b, "  - {name: c%d, allowed_senders: \"*\"}\n", i)
	}
	c, err := Decode("many.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var es Errors
	if !errors.As(c.Validate(Options{SkipFileChecks: true}), &es) || len(es) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d", len(es), maxErrors+1)
	}
	if last := es[maxErrors].Error(); !strings.Contains(last, "more errors not shown") {
		t.Errorf("last line %q, want a summary", last)
	}
}
