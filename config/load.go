package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

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
	return ParseWith(name, data, Options{})
}

// ParseWith is Parse with options. Every problem comes in one pass: the
// values that decoded are validated even when others did not (a key that
// failed to decode keeps its default and is not reported twice). Only a
// YAML syntax error stops the reading early, as nothing after it can be
// placed.
func ParseWith(name string, data []byte, opts Options) (*Config, error) {
	c, decodeErrs := decode(name, data)
	if c == nil {
		return nil, decodeErrs
	}
	err := c.Validate(opts)
	var valErrs Errors
	errors.As(err, &valErrs)
	all := mergeErrors(c.src, decodeErrs, valErrs)
	if all != nil {
		return nil, all
	}
	return c, nil
}

// mergeErrors joins decoding and validation errors in line order,
// dropping a validation error on a key whose value (or a part of it, or
// the section holding it) could not be decoded.
func mergeErrors(src *sourceInfo, decoded, validated Errors) error {
	col := &collector{src: src, errs: slices.Clone(decoded)}
	for _, v := range validated {
		if !slices.ContainsFunc(decoded, func(d *Error) bool { return related(d.Key, v.Key) }) {
			col.errs = append(col.errs, v)
		}
	}
	return col.err()
}

// related reports whether key paths a and b are the same, or one holds
// the other ("limits" and "limits.data_timeout", "listeners[1]" and
// "listeners[1].address").
func related(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	under := func(x, y string) bool {
		return strings.HasPrefix(x, y) && (len(x) == len(y) || x[len(y)] == '.' || x[len(y)] == '[')
	}
	return under(a, b) || under(b, a)
}

// Decode reads a config's YAML over the defaults, checking its syntax, keys
// and value types but not how the values fit together; call Validate next.
// It returns a config or errors, never both.
func Decode(name string, data []byte) (*Config, error) {
	c, errs := decode(name, data)
	if errs != nil {
		return nil, errs
	}
	return c, nil
}

// decode is Decode that also returns what it could decode alongside the
// errors; the config is nil only for a YAML syntax error.
func decode(name string, data []byte) (*Config, Errors) {
	dir := filepath.Dir(name)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c := base()
	c.src = &sourceInfo{file: name, dir: dir, lines: map[string]int{}}
	d := &decoder{collector: &collector{src: c.src}, budget: maxValues}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{syntaxError(name, data, err)}
	}
	if len(root.Content) > 0 {
		d.decode(root.Content[0], "", "", reflect.ValueOf(c).Elem())
		if root.Content[0].Kind != yaml.MappingNode {
			return nil, d.errs // nothing of the file was read: no more to say
		}
	}
	c.derive()
	if d.err() != nil {
		return c, d.errs
	}
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError places a YAML syntax error on the line where it becomes
// evident. yaml.v3 reports the line where the enclosing block began (an
// indentation slip on line 4 of a top-level mapping comes back as line 1),
// so the first prefix of the file that fails with the same complaint is
// looked for; the block's line is kept in the message.
func syntaxError(name string, data []byte, err error) *Error {
	blockLine := yamlErrLine(err)
	what := yamlLineRE.ReplaceAllString(err.Error(), "")
	what = strings.TrimPrefix(what, "yaml: ")
	line := blockLine
	lines := strings.SplitAfter(string(data), "\n")
	prefix := len(strings.Join(lines[:min(max(blockLine, 1)-1, len(lines))], ""))
	budget := maxSyntaxScanBytes
	for k := max(blockLine, 1); k <= len(lines) && budget > 0; k++ {
		prefix += len(lines[k-1])
		budget -= prefix
		var n yaml.Node
		perr := yaml.Unmarshal(data[:prefix], &n)
		if perr != nil && strings.HasSuffix(perr.Error(), ": "+what) {
			line = k
			break
		}
	}
	msg := "YAML syntax: " + what
	if blockLine > 0 && blockLine != line {
		msg += fmt.Sprintf(" (in the block that starts on line %d)", blockLine)
	}
	return &Error{File: name, Line: line, Msg: msg, Err: err}
}

// maxSyntaxScanBytes bounds the bytes syntaxError parses, over all the
// prefixes it tries: a syntax error in a huge file keeps yaml's line.
const maxSyntaxScanBytes = 64 << 20

// yamlErrLine extracts the line number from a yaml.v3 syntax error.
func yamlErrLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
