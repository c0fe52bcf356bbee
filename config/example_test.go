package config

import (
	"os"
	"reflect"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The example file documents every key; it must stay loadable.
func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	c := loadNoFileChecks(t, "../configs/sealgate.example.yaml")
	if len(c.Listeners) != 3 || c.Delivery.Retry.MaxAge != 5*24*time.Hour {
		t.Errorf("unexpected content: %d listeners, max_age %v", len(c.Listeners), c.Delivery.Retry.MaxAge)
	}
}

// TestExampleDocumentsEveryKey checks that every key of Config appears in
// the example file, so the documentation cannot fall behind the code.
func TestExampleDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../configs/sealgate.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	nodePaths(root.Content[0], "", inFile)
	inType := map[string]bool{}
	typePaths(reflect.TypeFor[Config](), "", inType)
	if len(inType) < 100 {
		t.Fatalf("only %d key paths found in Config", len(inType))
	}
	for p := range inType {
		if !inFile[p] {
			t.Errorf("configs/sealgate.example.yaml does not show %s", p)
		}
	}
}

// nodePaths collects the key paths present in a YAML tree; list items
// are written "key[]".
func nodePaths(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(prefix, n.Content[i].Value)
			out[p] = true
			nodePaths(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			nodePaths(item, prefix+"[]", out)
		}
	}
}

// typePaths collects the key paths of a config struct type.
func typePaths(t reflect.Type, prefix string, out map[string]bool) {
	for name, f := range structFields(t) {
		p := joinPath(prefix, name)
		out[p] = true
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && ft.Elem() != prefixType {
			typePaths(ft.Elem(), p+"[]", out)
		} else if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Then]() {
			typePaths(ft, p, out)
		}
	}
}
