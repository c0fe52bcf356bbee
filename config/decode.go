package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sealgate/sealgate/internal/suggest"
)

// nodeUnmarshaler is implemented by config types with their own YAML shape.
type nodeUnmarshaler interface {
	unmarshalNode(d *decoder, n *yaml.Node, path string)
}

// decoder fills config structs from a yaml.Node tree, recording the line of
// every key path and collecting errors instead of stopping at the first.
type decoder struct {
	*collector
	budget int // values still allowed, so aliases cannot multiply without end
}

// maxValues bounds the values decoded from one file, aliases expanded.
const maxValues = 1_000_000

var (
	durationType = reflect.TypeFor[time.Duration]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
)

// decode stores n into v. kind is the field's cfg tag ("size", "path", "").
func (d *decoder) decode(n *yaml.Node, path, kind string, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.addf(path, "too many values (more than %d, aliases expanded)", maxValues)
		}
		return
	}
	if u, ok := v.Addr().Interface().(nodeUnmarshaler); ok {
		u.unmarshalNode(d, n, path)
		return
	}
	if isNull(n) {
		if v.Kind() != reflect.Struct {
			v.SetZero()
		}
		return
	}
	switch {
	case v.Type() == durationType:
		decodeScalar(d, n, path, v, parseDuration)
	case v.Type() == prefixType:
		decodeScalar(d, n, path, v, parsePrefix)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, path, v)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, path, kind, v)
	case v.Kind() == reflect.Map:
		d.decodeMap(n, path, kind, v)
	default:
		d.decodeBasic(n, path, kind, v)
	}
}

// isNull reports whether n is an explicit or implicit YAML null.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// wrongShape reports a node of the wrong kind, at the node's own line.
func (d *decoder) wrongShape(n *yaml.Node, path, want string) {
	d.addf(path, "want %s, got %s", want, kindName(n))
	d.errs[len(d.errs)-1].Line = n.Line
}

// kindName describes a node kind for error messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

// decodeScalar parses a scalar node with parse and stores the result in v.
func decodeScalar[T any](d *decoder, n *yaml.Node, path string, v reflect.Value, parse func(string) (T, error)) {
	if n.Kind != yaml.ScalarNode {
		d.wrongShape(n, path, "a single value")
		return
	}
	x, err := parse(n.Value)
	if err != nil {
		d.addf(path, "%v", err)
		return
	}
	v.Set(reflect.ValueOf(x))
}

// decodeStruct decodes a mapping into a struct, by yaml tags.
func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.wrongShape(n, path, "a mapping")
		return
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := joinPath(path, k.Value)
		d.src.lines[p] = k.Line
		f, ok := fields[k.Value]
		switch {
		case !ok:
			d.addf(p, "unknown key %q%s", k.Value, didYouMean(k.Value, fields))
		case seen[k.Value]:
			d.addf(p, "duplicate key")
		default:
			d.decode(val, p, f.Tag.Get("cfg"), v.FieldByIndex(f.Index))
		}
		seen[k.Value] = true
	}
}

// didYouMean suggests the known key nearest to an unknown one.
func didYouMean(key string, fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names) // ties go the same way every time
	if best := suggest.Closest(key, names); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// structFields maps yaml key names to the fields of t.
func structFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(t) {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			m[name] = f
		}
	}
	return m
}

// decodeSlice decodes a sequence, or a single scalar as a list of one.
func (d *decoder) decodeSlice(n *yaml.Node, path, kind string, v reflect.Value) {
	items := n.Content
	switch n.Kind {
	case yaml.SequenceNode:
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	default:
		d.wrongShape(n, path, "a list")
		return
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.src.lines[p] = item.Line
		if isNull(item) {
			d.addf(p, "empty list entry")
			continue
		}
		d.decode(item, p, kind, out.Index(i))
	}
	v.Set(out)
}

// decodeMap decodes a mapping with string keys.
func (d *decoder) decodeMap(n *yaml.Node, path, kind string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.wrongShape(n, path, "a mapping")
		return
	}
	out := reflect.MakeMap(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := path + "[" + k.Value + "]"
		d.src.lines[p] = k.Line
		if out.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.addf(p, "duplicate key")
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, p, kind, elem)
		out.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
	v.Set(out)
}

// decodeBasic decodes strings, booleans and integers.
func (d *decoder) decodeBasic(n *yaml.Node, path, kind string, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.wrongShape(n, path, "a single value")
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(d.pathValue(n.Value, kind))
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil || n.ShortTag() != "!!bool" {
			d.addf(path, "want true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		d.decodeInt(n, path, kind, v)
	default: // a field type this decoder does not know: a bug, not bad input
		d.addf(path, "internal error: cannot decode into %s", v.Type())
	}
}

// decodeInt decodes a non-negative integer, or a size when kind is "size".
func (d *decoder) decodeInt(n *yaml.Node, path, kind string, v reflect.Value) {
	var x int64
	var err error
	if kind == "size" {
		x, err = parseSize(n.Value)
	} else if x, err = strconv.ParseInt(n.Value, 0, 64); err != nil {
		err = fmt.Errorf("want a whole number, got %q", n.Value)
	}
	if err == nil && x < 0 {
		err = fmt.Errorf("must not be negative, got %q", n.Value)
	}
	if err == nil && v.OverflowInt(x) {
		err = fmt.Errorf("%q is too large", n.Value)
	}
	if err != nil {
		d.addf(path, "%v", err)
		return
	}
	v.SetInt(x)
}

// pathValue resolves a relative file path against the config's directory.
func (d *decoder) pathValue(s, kind string) string {
	if kind != "path" || s == "" || s == "-" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(d.src.dir, s)
}

// joinPath appends a key to a key path.
func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// unmarshalNode reads an action: "encrypt" or {encrypt: method}.
func (t *Then) unmarshalNode(d *decoder, n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		*t = Then{Action: n.Value}
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[1].Kind == yaml.ScalarNode:
		*t = Then{Action: n.Content[0].Value, Method: n.Content[1].Value}
		if t.Action != ActionEncrypt {
			d.addf(path, "only encrypt takes a method, got %q", t.Action)
		}
	default:
		d.addf(path, "want an action (deliver, encrypt, block, quarantine) or {encrypt: METHOD}")
	}
}
