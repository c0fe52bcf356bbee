package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunPrintsOneVerdict(t *testing.T) {
	msg := "From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\nPatient: Ann Lee, DOB 01/02/1980, asthma.\r\n"
	var out bytes.Buffer
	if err := run(strings.NewReader(msg), &out); err != nil {
		t.Fatal(err)
	}
	var v struct {
		PHI bool `json:"phi"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || !v.PHI {
		t.Errorf("output %q: err %v, want phi true", out.String(), err)
	}
	if strings.Contains(out.String(), "Ann Lee") || strings.Contains(out.String(), "01/02/1980") {
		t.Errorf("output holds a matched value: %s", out.String())
	}
}
