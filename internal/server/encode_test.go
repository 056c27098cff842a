package server

import (
	"testing"

	"github.com/yuncan/yuncan"
)

// Field names are exact: encoding/json's case-insensitive match is refused.
func TestDecodeJSONExactFieldNames(t *testing.T) {
	var p profilePatch
	err := decodeJSON([]byte(`{"NICKNAME":"x"}`), &p)
	if yuncan.ErrorReason(err) != "unknown_field" {
		t.Fatalf("decodeJSON with NICKNAME = %v, want unknown_field", err)
	}
	if err := decodeJSON([]byte(`{"nickname":"x"}`), &p); err != nil || !p.Nickname.Set {
		t.Fatalf("decodeJSON with nickname = %v", err)
	}
}
