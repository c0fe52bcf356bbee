package main

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestAPIDocExamples sends every request example of docs/api.yaml to a
// running gateway and checks the answer against the response the doc
// files the same example name under: its status, and the error code or
// the 202's fields. Every request example must have such a response.
func TestAPIDocExamples(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `yaml:"openapi"`
		Paths   map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Examples map[string]struct {
						Value any `yaml:"value"`
					} `yaml:"examples"`
				} `yaml:"content"`
			} `yaml:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Examples map[string]struct {
						Value any `yaml:"value"`
					} `yaml:"examples"`
				} `yaml:"content"`
			} `yaml:"responses"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	post := doc.Paths["/v1/messages"]["post"]
	a := newAPIEnv(t)
	sent := 0
	for ctype, c := range post.RequestBody.Content {
		for name, ex := range c.Examples {
			status, want := "", map[string]any(nil)
			for st, r := range post.Responses {
				if rex, ok := r.Content["application/json"].Examples[name]; ok {
					status, want = st, rex.Value.(map[string]any)
				}
			}
			if status == "" {
				t.Errorf("request example %s has no response example of the same name", name)
				continue
			}
			var body []byte
			if ctype == "application/json" {
				body, _ = json.Marshal(ex.Value)
			} else {
				body = []byte(ex.Value.(string))
			}
			code, got, _ := a.do(t, "POST", "/v1/messages", ctype, a.key, body)
			sent++
			if status != strconv.Itoa(code) {
				t.Errorf("example %s: %d %v, the doc says %s", name, code, got, status)
				continue
			}
			if we, ok := want["error"].(map[string]any); ok {
				if errCode(got) != we["code"] {
					t.Errorf("example %s: code %q, the doc says %q", name, errCode(got), we["code"])
				}
				continue
			}
			for k := range want {
				if got[k] == nil {
					t.Errorf("example %s: answer %v lacks %q", name, got, k)
				}
			}
			if got["status"] != want["status"] {
				t.Errorf("example %s: status %v, the doc says %v", name, got["status"], want["status"])
			}
		}
	}
	if sent < 5 {
		t.Errorf("only %d examples sent", sent)
	}
	// Every error code the doc lists is one the API can give, and the other way round for the API's own.
	for _, c := range []string{"invalid_request", "unauthorized", "sender_not_allowed", "too_large", "idempotency_mismatch", "not_found"} {
		if !slices.Contains(strings.Fields(strings.NewReplacer("[", " ", "]", " ", ",", " ").Replace(string(raw))), c) {
			t.Errorf("docs/api.yaml does not list error code %s", c)
		}
	}
}
