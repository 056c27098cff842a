package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/storetest"
)

// TestOpenAPICoversRoutes: the served document describes every API route
// of routes.go, and nothing that is not a route. Adding a route without
// documenting it fails here.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("the served document is not JSON: %v", err)
	}
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(doc.OpenAPI) {
		t.Fatalf(`"openapi" is %q, want 3.1.x`, doc.OpenAPI)
	}
	if len(e.srv.apiRoutes) == 0 {
		t.Fatal("the server registered no API routes")
	}

	routes := map[string]bool{}
	for _, r := range e.srv.apiRoutes {
		key := r.Method + " " + r.Path
		routes[key] = true
		if _, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for path, item := range doc.Paths {
		for method, op := range item {
			key := strings.ToUpper(method) + " " + path
			if routes[key] {
				continue
			}
			// Operations routes live outside /api/v1 and are registered
			// apart; they may be documented under their own tag, and must
			// then really be served.
			tags, _ := op["tags"].([]any)
			if !slices.Contains(tags, any("Operations")) || strings.HasPrefix(path, "/api/") {
				t.Errorf("openapi.json documents %s, which is not a route", key)
				continue
			}
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, httptest.NewRequest(strings.ToUpper(method), path, nil))
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
				t.Errorf("openapi.json documents %s, which answers %d", key, rec.Code)
			}
		}
	}
}

// TestOpenAPIDocument checks what a validator would and what this API
// promises: unique operation ids, a summary and description each, path
// parameters declared, JSON request bodies closed (additionalProperties
// false), every error response in the Error shape, 429 with Retry-After,
// 401 on bearer routes with WWW-Authenticate, and every $ref resolving.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf(`"openapi" is %q`, v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Error("info needs title and version")
	}
	comps, _ := doc["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	if b, _ := schemes["bearerAuth"].(map[string]any); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("bearerAuth must be an http bearer scheme: %v", b)
	}
	if d, _ := schemes["deviceToken"].(map[string]any); d["type"] != "apiKey" || d["in"] != "header" || d["name"] != "X-Device-Token" {
		t.Errorf("deviceToken must be an apiKey in header X-Device-Token: %v", d)
	}

	// Every $ref resolves (apiPointer fails the test otherwise).
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				apiPointer(t, ref)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)

	// Every schema uses only the keywords the response checker knows:
	// validating null against each forces a pass over all of them.
	for name, s := range comps["schemas"].(map[string]any) {
		apiValidate(t, s, nil, "#/components/schemas/"+name)
	}

	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			op := o.(map[string]any)
			key := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", key)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s: operationId %q already used by %s", key, id, prev)
			}
			ids[id] = key
			for _, f := range []string{"summary", "description"} {
				if s, _ := op[f].(string); strings.TrimSpace(s) == "" {
					t.Errorf("%s: no %s", key, f)
				}
			}
			if _, ok := op["security"]; !ok {
				t.Errorf("%s: say which security applies (an empty list for none)", key)
			}
			declared := map[string]bool{}
			for _, p := range apiList(op["parameters"]) {
				pm := apiResolve(t, p).(map[string]any)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
					if pm["required"] != true {
						t.Errorf("%s: path parameter %v must be required", key, pm["name"])
					}
				}
			}
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter {%s} not declared", key, m[1])
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				if js, ok := rb["content"].(map[string]any)["application/json"].(map[string]any); ok {
					s := apiResolve(t, js["schema"]).(map[string]any)
					if s["additionalProperties"] != false {
						t.Errorf("%s: the JSON body schema must set additionalProperties: false (unknown fields are refused)", key)
					}
				}
			}
			bearerOnly := fmt.Sprint(op["security"]) == "[map[bearerAuth:[]]]"
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s: no responses", key)
			}
			for status, r := range responses {
				rm := apiResolve(t, r).(map[string]any)
				if s, _ := rm["description"].(string); s == "" {
					t.Errorf("%s %s: no description", key, status)
				}
				if status < "400" {
					continue
				}
				schema, _ := rm["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
				if schema["$ref"] != "#/components/schemas/Error" {
					t.Errorf("%s %s: errors must use the Error schema", key, status)
				}
				hs, _ := rm["headers"].(map[string]any)
				if status == "429" && hs["Retry-After"] == nil {
					t.Errorf("%s 429: document the Retry-After header", key)
				}
				if status == "401" && bearerOnly && hs["WWW-Authenticate"] == nil {
					t.Errorf("%s 401: document the WWW-Authenticate header", key)
				}
			}
			if bearerOnly && responses["401"] == nil {
				t.Errorf("%s: a bearer route must document 401", key)
			}
		}
	}
}

func apiList(v any) []any { l, _ := v.([]any); return l }
