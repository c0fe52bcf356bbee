package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary YAML to the decoder and validator: they must
// return errors, never panic, and a config must come with no error.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	files = append(files, "../configs/sealgate.example.yaml")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode("fuzz.yaml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Decode returned config %v and error %v", c != nil, err)
		}
		if c != nil {
			_ = c.Validate(Options{SkipFileChecks: true})
		}
	})
}
