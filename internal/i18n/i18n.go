// Package i18n is the message catalogue of what patients read: the
// portal's pages, the one-time code mail and the portal notification. Each
// language is one JSON file of key → text (en.json, es.json), so a
// translator edits text without touching code; placeholders are {1}, {2},
// … in the order the code passes them, and may move within a sentence.
//
// A small catalogue of our own rather than golang.org/x/text/message: the
// texts are whole sentences with at most a few placeholders, the only
// plural is a count of minutes (two keys), and a flat file per language is
// easy to review and to check by test (every key in every language, the
// same placeholders). golang.org/x/text/language does what is subtle:
// reading Accept-Language with its weights and matching a regional tag
// (es-MX, es-419) to the language we have.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
)

//go:embed *.json
var files embed.FS

// Lang is one language's catalogue.
type Lang struct {
	code string
	msgs map[string]string
}

// Default is the language used when nothing else is known: English.
const Default = "en"

var (
	langs   = map[string]*Lang{}
	codes   []string // supported codes, Default first
	matcher language.Matcher
)

func init() {
	entries, err := files.ReadDir(".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		code := strings.TrimSuffix(e.Name(), ".json")
		data, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		l := &Lang{code: code}
		if err := json.Unmarshal(data, &l.msgs); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", e.Name(), err))
		}
		langs[code] = l
		codes = append(codes, code)
	}
	sort.Slice(codes, func(i, j int) bool { return codes[i] == Default || (codes[j] != Default && codes[i] < codes[j]) })
	tags := make([]language.Tag, len(codes))
	for i, c := range codes {
		tags[i] = language.MustParse(c)
	}
	matcher = language.NewMatcher(tags)
}

// Codes lists the supported language codes, Default first.
func Codes() []string { return append([]string(nil), codes...) }

// Supported reports whether code names a catalogue.
func Supported(code string) bool { return langs[code] != nil }

// Get returns the catalogue for code, or Default's.
func Get(code string) *Lang {
	if l := langs[code]; l != nil {
		return l
	}
	return langs[Default]
}

// Match picks the best catalogue for an Accept-Language header value,
// falling back to fallback (a code) when nothing there matches.
func Match(acceptLanguage, fallback string) *Lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Get(fallback)
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Get(fallback)
	}
	return langs[codes[i]]
}

// Code is the language's BCP 47 code, for <html lang>.
func (l *Lang) Code() string { return l.code }

// Name is the language's name in itself ("Español").
func (l *Lang) Name() string { return l.T("lang.name") }

// Has reports whether the catalogue holds key.
func (l *Lang) Has(key string) bool { _, ok := l.msgs[key]; return ok }

// Keys lists the catalogue's keys, sorted.
func (l *Lang) Keys() []string {
	out := make([]string, 0, len(l.msgs))
	for k := range l.msgs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// T is the text for key with {1}, {2}, … replaced by args. A key missing
// here comes from Default; one missing there is returned as it is (the
// catalogue test keeps that from happening).
func (l *Lang) T(key string, args ...any) string {
	msg, ok := l.msgs[key]
	if !ok {
		if msg, ok = langs[Default].msgs[key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		n, err := 0, error(nil)
		if j > 0 {
			n, err = strconv.Atoi(msg[i+1 : i+j])
		}
		if j < 0 || err != nil || n < 1 || n > len(args) {
			b.WriteString(msg[:i+1])
			msg = msg[i+1:]
			continue
		}
		b.WriteString(msg[:i])
		fmt.Fprint(&b, args[n-1])
		msg = msg[i+j+1:]
	}
	b.WriteString(msg)
	return b.String()
}

// Placeholders lists the {n} placeholders in key's text, sorted.
func (l *Lang) Placeholders(key string) []int {
	var out []int
	msg := l.msgs[key]
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			break
		}
		if n, err := strconv.Atoi(msg[i+1 : i+j]); err == nil {
			out = append(out, n)
		}
		msg = msg[i+j+1:]
	}
	sort.Ints(out)
	return out
}

// Minutes is a count of minutes in words: "1 minute", "10 minutes".
func (l *Lang) Minutes(n int) string {
	if n == 1 {
		return l.T("unit.minute.one")
	}
	return l.T("unit.minute.other", n)
}

// Days is a count of days in words.
func (l *Lang) Days(n int) string {
	if n == 1 {
		return l.T("unit.day.one")
	}
	return l.T("unit.day.other", n)
}

// Time writes t in loc as a reader of this language expects, naming the
// time zone ("Monday 2 March 2026 at 15:04 (CST, America/Chicago)").
func (l *Lang) Time(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return l.T("time.long", l.T("weekday."+strconv.Itoa(int(t.Weekday()))), t.Day(),
		l.T("month."+strconv.Itoa(int(t.Month()))), t.Year(), t.Format("15:04"), ZoneLabel(t))
}

// ZoneLabel names t's zone: its abbreviation where it has a written one,
// and the IANA name ("CST, America/Chicago"; "UTC").
func ZoneLabel(t time.Time) string {
	abbr, _ := t.Zone()
	name := t.Location().String()
	if name == "UTC" || name == "" || name == "Local" {
		if abbr == "" {
			return "UTC"
		}
		return abbr
	}
	if abbr == "" || strings.ContainsAny(abbr, "+-0123456789") || abbr == name {
		return name
	}
	return abbr + ", " + name
}
