package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Options change what Validate checks.
type Options struct {
	// SkipFileChecks skips reading the files the config names (certificates,
	// keys, keyrings): for checking a config on a machine other than the
	// one it is for, and for example files in tests.
	SkipFileChecks bool
}

// Load reads, decodes and validates the config file at path. Relative paths
// in the file are relative to its directory. Problems are returned as
// Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a config whose text is data; name is used in
// errors and its directory is the base of relative paths.
func Parse(name string, data []byte) (*Config, error) {
	c, err := Decode(name, data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(Options{}); err != nil {
		return nil, err
	}
	return c, nil
}

// Decode reads a config's YAML over the defaults, checking its syntax, keys
// and value types but not how the values fit together; call Validate next.
func Decode(name string, data []byte) (*Config, error) {
	dir := filepath.Dir(name)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c := base()
	c.src = &sourceInfo{file: name, dir: dir, lines: map[string]int{}}
	d := &decoder{collector: &collector{src: c.src}, budget: maxValues}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d.errs = append(d.errs, &Error{File: name, Line: yamlErrLine(err), Msg: err.Error(), Err: err})
		return nil, d.errs
	}
	if len(root.Content) > 0 {
		d.decode(root.Content[0], "", "", reflect.ValueOf(c).Elem())
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	c.derive()
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlErrLine extracts the line number from a yaml.v3 syntax error.
func yamlErrLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
