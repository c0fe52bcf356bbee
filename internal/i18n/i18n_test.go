package i18n

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestCataloguesComplete: every language has every key, none empty, with
// the same placeholders as English.
func TestCataloguesComplete(t *testing.T) {
	en := Get(Default)
	if len(Codes()) < 2 || Codes()[0] != Default || !Supported("es") {
		t.Fatalf("languages %v", Codes())
	}
	for _, code := range Codes() {
		l := Get(code)
		if !reflect.DeepEqual(l.Keys(), en.Keys()) {
			t.Errorf("%s: keys differ from English", code)
		}
		for _, k := range en.Keys() {
			if strings.TrimSpace(l.msgs[k]) == "" {
				t.Errorf("%s: %s is empty", code, k)
			}
			if !reflect.DeepEqual(l.Placeholders(k), en.Placeholders(k)) {
				t.Errorf("%s: %s has placeholders %v, English %v", code, k, l.Placeholders(k), en.Placeholders(k))
			}
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct{ accept, fallback, want string }{
		{"es-MX,es;q=0.9,en;q=0.5", "en", "es"},
		{"es-419", "en", "es"},
		{"en-US,en;q=0.9,es;q=0.1", "es", "en"},
		{"fr-FR,fr;q=0.9", "en", "en"},
		{"fr-FR,fr;q=0.9", "es", "es"},
		{"", "es", "es"},
		{"not a header;;;", "en", "en"},
		{"de;q=0.9,es;q=0.4", "en", "es"},
	}
	for _, c := range cases {
		if got := Match(c.accept, c.fallback).Code(); got != c.want {
			t.Errorf("Match(%q, %q) = %s, want %s", c.accept, c.fallback, got, c.want)
		}
	}
}

func TestTextAndTime(t *testing.T) {
	es := Get("es")
	if got := es.T("code.locked", es.Minutes(15)); got != "Demasiados intentos. Por su seguridad, espere 15 minutos y luego pida un código nuevo." {
		t.Errorf("code.locked: %q", got)
	}
	if got := Get("en").Minutes(1); got != "1 minute" {
		t.Errorf("Minutes(1) = %q", got)
	}
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 7, 4, 18, 5, 0, 0, time.UTC)
	if got := es.Time(at, chicago); got != "sábado 4 de julio de 2026, a las 13:05 (CDT, America/Chicago)" {
		t.Errorf("es time: %q", got)
	}
	if got := Get("en").Time(at, nil); got != "Saturday 4 July 2026 at 18:05 (UTC)" {
		t.Errorf("en time: %q", got)
	}
	// A placeholder that is not passed stays as written; text is not
	// interpreted as a format string.
	if got := Get("en").T("layout.help", "100% {2}"); got != "Questions? Contact 100% {2}:" {
		t.Errorf("T: %q", got)
	}
}
