package config

import (
	"os"
	"testing"
	"time"
)

// The example file documents every key; it must stay loadable.
func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	const path = "../configs/sealgate.example.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(path, data)
	if err != nil {
		t.Fatalf("decode:\n%v", err)
	}
	if err := c.Validate(Options{SkipFileChecks: true}); err != nil {
		t.Fatalf("validate:\n%v", err)
	}
	if len(c.Listeners) != 3 || c.Delivery.Retry.MaxAge != 5*24*time.Hour {
		t.Errorf("unexpected content: %d listeners, max_age %v", len(c.Listeners), c.Delivery.Retry.MaxAge)
	}
}
