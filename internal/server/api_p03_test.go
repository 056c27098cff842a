package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/storetest"
)

// P03: refusing any optional purpose never breaks an unrelated function.
// The walk below signs up a person who accepts the privacy policy and
// nothing else, then calls every operation openapi.json documents (read
// from the document, so a new route is walked as soon as it is
// documented) under each of its security alternatives, with a request
// built from the operation's own request schema. No route of the product
// needs an optional consent just to be used, so any 403 consent_required,
// guardian_consent_required, adults_only or policy_acceptance_required is
// a P03 failure (p03NeedsConsent lists the functions that do need one);
// so is any 5xx, and any other refusal the table p03Expected does not
// explain.
//
// Path parameters name real objects (pathParam): the walker's sessions,
// notifications delivered to its inbox and its device's, its shields; for
// people-seeking, the walker is staff of a partner rescue station (which
// may publish without a real-name verification of its own), so it reports
// and edits its own cases, and sends clues on a case that another person,
// who granted the real_name consent and verified a real name, reported
// and an admin published. Staff functions (tags Admin and Review) run as
// an admin, who also grants no optional purpose.

// p03ConsentCodes are the refusals that mean "a consent is missing".
var p03ConsentCodes = []string{"consent_required", "guardian_consent_required", "adults_only", "policy_acceptance_required"}

// p03Expected lists the operations whose generated request cannot be
// valid for the walker, with the one answer allowed and why.
var p03Expected = map[string]struct {
	Status int
	Code   string
	Why    string
}{
	"POST /api/v1/me/guardian":        {http.StatusConflict, "guardian_not_required", "the walker is an adult: only an account under 14 asks for a guardian's consent"},
	"POST /api/v1/me/guardian/verify": {http.StatusConflict, "guardian_not_required", "the walker is an adult: only an account under 14 verifies a guardian's consent"},
	"GET /api/v1/me/location":         {http.StatusNotFound, "not_found", "the walker refused seeking_alert_location, without which no position is ever stored"},
	// P66: the walker's login is minutes old, so it may not ask to cancel
	// (a known device is a login a day old), and so has nothing to see or
	// withdraw; its generated body does not agree to the agreement.
	"POST /api/v1/me/cancellation/code": {http.StatusForbidden, "device_not_known", "a login younger than a day may not ask to cancel"},
	"POST /api/v1/me/cancellation":      {http.StatusBadRequest, "agreement_required", "the walk's body does not agree to the cancellation agreement"},
	"GET /api/v1/me/cancellation":       {http.StatusNotFound, "not_found", "the walker never asked to cancel"},
	"DELETE /api/v1/me/cancellation":    {http.StatusNotFound, "no_pending_cancellation", "the walker never asked to cancel"},
}

// p03NeedsConsent lists the functions that need an optional purpose: for
// them, and only them, 403 consent_required naming that purpose is the
// right answer to a person who refused it (P05), and any success is a
// failure of the gate.
var p03NeedsConsent = map[string]string{
	"PUT /api/v1/me/location":   "seeking_alert_location",
	"POST /api/v1/me/real-name": "real_name",
}

// p03Destructive orders the operations that end a session or change the
// credentials: they run last, in this order, so that the walk's own token
// stays valid for everything else.
var p03Destructive = []string{
	"PUT /api/v1/me/password",
	"DELETE /api/v1/me/sessions/{id}",
	"POST /api/v1/me/sessions/revoke-others",
	"POST /api/v1/auth/logout",
	// Last of all: once operations cease, no one signs up any more (P69).
	"POST /api/v1/admin/cease-operations",
}

// p03Op is one documented operation under one security alternative.
type p03Op struct {
	Method, Path string // Path is the template, {param} included
	Op           map[string]any
	Auth         string // "none", "bearer", "device" or "cookie"
}

func (o p03Op) key() string { return o.Method + " " + o.Path }

// phase orders the walk: 0 everything that neither decides a consent nor
// ends a session; 1 the consent decisions (grants before withdrawals); 2
// the destructive operations.
func (o p03Op) phase() int {
	if slices.Contains(p03Destructive, o.key()) {
		return 2
	}
	if o.Method != "GET" && strings.HasPrefix(o.Path, "/api/v1/consents") {
		return 1
	}
	return 0
}

// p03Operations lists every documented operation, once per security
// alternative, in walk order.
func p03Operations(tb testing.TB) (ops []p03Op, documented int) {
	tb.Helper()
	doc := openAPIDoc(tb)
	global, _ := doc["security"].([]any)
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			op, ok := op.(map[string]any)
			if !ok || !slices.Contains([]string{"get", "put", "post", "delete", "patch"}, method) {
				continue
			}
			documented++
			sec := global
			if s, ok := op["security"].([]any); ok {
				sec = s
			}
			auths := []string{}
			for _, alt := range sec {
				alt := alt.(map[string]any)
				switch {
				case len(alt) == 0:
					auths = append(auths, "none")
				case alt["bearerAuth"] != nil:
					auths = append(auths, "bearer")
				case alt["deviceToken"] != nil:
					auths = append(auths, "device")
				case alt["sessionCookie"] != nil:
					auths = append(auths, "cookie")
				default:
					tb.Fatalf("%s %s: security %v is unknown to the walk; teach it", method, path, alt)
				}
			}
			if len(auths) == 0 {
				auths = []string{"none"}
			}
			for _, a := range auths {
				ops = append(ops, p03Op{Method: strings.ToUpper(method), Path: path, Op: op, Auth: a})
			}
		}
	}
	methodRank := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
	sort.Slice(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if a.phase() != b.phase() {
			return a.phase() < b.phase()
		}
		if a.phase() == 2 {
			return slices.Index(p03Destructive, a.key()) < slices.Index(p03Destructive, b.key())
		}
		if a.phase() == 1 && (a.Method == "DELETE") != (b.Method == "DELETE") {
			return b.Method == "DELETE"
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Method != b.Method {
			return methodRank[a.Method] < methodRank[b.Method]
		}
		return a.Auth < b.Auth
	})
	return ops, documented
}

// p03Gen builds values that match a schema of openapi.json: required
// members only (every member of an object that requires none, such as a
// merge patch), the first alternative of a oneOf, hints by member name,
// then const, enum, examples, format and pattern. Booleans are false: the
// walker switches nothing on.
type p03Gen struct {
	tb    testing.TB
	hints map[string]any // member name → value
	refs  map[string]any // "#/components/schemas/X" → value
}

func (g *p03Gen) value(schema any, name string) any {
	g.tb.Helper()
	s, ok := schema.(map[string]any)
	if !ok {
		g.tb.Fatalf("openapi.json: schema of %q is not an object", name)
	}
	if ref, ok := s["$ref"].(string); ok {
		if v, ok := g.refs[ref]; ok {
			return v
		}
		if v, ok := g.hints[name]; ok {
			return v
		}
		return g.value(apiPointer(g.tb, ref), name)
	}
	if v, ok := g.hints[name]; ok {
		return v
	}
	if v, ok := s["const"]; ok {
		return v
	}
	if enum, ok := s["enum"].([]any); ok {
		for _, v := range enum {
			if v != nil {
				return v
			}
		}
	}
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	typ := ""
	switch t := s["type"].(type) {
	case string:
		typ = t
	case []any:
		for _, x := range t {
			if x != "null" {
				typ = x.(string)
				break
			}
		}
	}
	switch typ {
	case "object":
		props, _ := s["properties"].(map[string]any)
		var req []string
		if r, ok := s["required"].([]any); ok {
			for _, x := range r {
				req = append(req, x.(string))
			}
		}
		if alts, ok := s["oneOf"].([]any); ok && len(alts) > 0 {
			if r, ok := alts[0].(map[string]any)["required"].([]any); ok {
				for _, x := range r {
					req = append(req, x.(string))
				}
			}
		}
		if len(req) == 0 {
			for p := range props {
				req = append(req, p)
			}
		}
		out := map[string]any{}
		for _, p := range req {
			ps, ok := props[p]
			if !ok {
				g.tb.Fatalf("openapi.json: %q requires %q, which it does not describe", name, p)
			}
			out[p] = g.value(ps, p)
		}
		return out
	case "array":
		n := 1
		if m, ok := s["minItems"].(float64); ok && int(m) > n {
			n = int(m)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = g.value(s["items"], name)
		}
		return out
	case "boolean":
		return false
	case "integer", "number":
		if m, ok := s["minimum"].(float64); ok {
			return m
		}
		return float64(1)
	case "string":
		return g.str(s, name)
	}
	g.tb.Fatalf("openapi.json: the walk cannot build a value for %q (type %v); teach p03Gen", name, s["type"])
	return nil
}

func (g *p03Gen) str(s map[string]any, name string) string {
	switch s["format"] {
	case "date":
		return "1990-05-01"
	case "date-time":
		return time.Now().UTC().Format(time.RFC3339)
	case "uuid":
		return uuid.NewString()
	}
	v := "p03"
	if pat, ok := s["pattern"].(string); ok {
		re := regexp.MustCompile(pat)
		found := false
		for _, c := range []string{v, "123456", "p03-walk", "P03"} {
			if re.MatchString(c) {
				v, found = c, true
				break
			}
		}
		if !found {
			g.tb.Fatalf("openapi.json: the walk cannot build a string for %q matching %s; add a hint", name, pat)
		}
	}
	if m, ok := s["minLength"].(float64); ok {
		for len([]rune(v)) < int(m) {
			v += "x"
		}
	}
	return v
}

// p03Image is a small opaque picture in the media type mt.
func p03Image(tb testing.TB, mt string) []byte {
	tb.Helper()
	if mt == "image/png" {
		return apiPNG(tb, 64, 64, "")
	}
	m := image.NewPaletted(image.Rect(0, 0, 64, 64), color.Palette{color.White, color.Black})
	for i := range 64 {
		m.SetColorIndex(i, i, 1)
	}
	var buf bytes.Buffer
	var err error
	switch mt {
	case "image/jpeg":
		err = jpeg.Encode(&buf, m, nil)
	case "image/gif":
		err = gif.Encode(&buf, m, nil)
	default:
		tb.Fatalf("p03Image: cannot draw %s", mt)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// p03Walker holds what the walk created, for the requests that need it.
type p03Walker struct {
	t                 *testing.T
	e                 *apiEnv
	phone             string // the walker's number, as typed (no country code)
	token, admin, dev string
	userID            string
	gen               *p03Gen
	guardianRequestID string
	unresolved        bool // the current request names a path parameter the walk does not know

	devID    string // the walker's device
	reporter string // the token of another person, real-name verified
	org      string // the partner rescue station the walker is staff of
	// made holds what pathParam created, by what it is for.
	made map[string]string
}

// freshLogin logs the walker in again and returns the new session's token
// and id, for the operations that end a session.
func (w *p03Walker) freshLogin() (token, sessionID string) {
	t, e := w.t, w.e
	t.Helper()
	code := e.sendCode(t, w.phone)
	r := e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": w.phone, "code": code})
	apiWant(t, r, http.StatusOK)
	token = r.JSON(t)["token"].(string)
	r = e.get(t, "/api/v1/me/sessions", token)
	apiWant(t, r, http.StatusOK)
	for _, s := range r.JSON(t)["sessions"].([]any) {
		if s := s.(map[string]any); s["current"] == true {
			return token, s["id"].(string)
		}
	}
	t.Fatalf("no current session in %s", r.Body)
	return "", ""
}

// pathParam resolves a {name} of o's path to a real value: one of the
// walker's own sessions, a guardian request filed earlier, the policy
// version in force, a purpose, and the objects the people-seeking, inbox
// and partner routes act on, each made for the operation (see the walk's
// comment). Anything else gets a plausible value, and the request may
// then answer 404.
func (w *p03Walker) pathParam(o p03Op, name string, schema any) string {
	path := o.Path
	switch {
	case path == "/api/v1/me/sessions/{id}":
		_, id := w.freshLogin()
		return id
	case path == "/api/v1/guardian-requests/{id}":
		if w.guardianRequestID == "" {
			r := w.e.send(w.t, "POST", "/api/v1/guardian-requests", "", map[string]string{
				"guardian_phone": "+86" + apiPhone(), "minor_phone": "+86" + apiPhone(), "kind": "access"})
			apiWant(w.t, r, http.StatusCreated)
			w.guardianRequestID = r.JSON(w.t)["id"].(string)
		}
		return w.guardianRequestID
	case name == "version":
		return w.e.versions.CurrentVersion()
	case name == "purpose":
		// P05: a sensitive purpose, granted on its own.
		return string(consent.PurposeContacts)
	}

	switch {
	// People-seeking: cases.
	case strings.HasPrefix(path, "/api/v1/review/cases/{id}/") && name == "id":
		// Each review decision on its own case in review.
		return w.once(o.key(), func() string { return w.submitted(w.reporter) })
	case path == "/api/v1/cases/{id}/submit" && name == "id":
		return w.once(o.key(), func() string { return w.newCase(w.token) })
	case path == "/api/v1/cases/{id}/resolve" && name == "id":
		return w.once(o.key(), func() string { return w.publish(w.submitted(w.token)) })
	case path == "/api/v1/cases/{id}" && o.Method == "PUT", path == "/api/v1/cases/{id}/private", path == "/api/v1/cases/{id}/reach",
		strings.HasPrefix(path, "/api/v1/cases/{id}/photos"):
		if name == "photo" {
			return w.photo("/api/v1/cases/" + w.ownDraft() + "/photos")
		}
		return w.ownDraft()
	case strings.HasPrefix(path, "/api/v1/cases/{id}"):
		// The published case the walker reads and sends clues on.
		switch name {
		case "id":
			return w.published()
		case "clue":
			return w.clue()
		case "photo":
			return w.once("clue photo", func() string {
				return w.photo("/api/v1/cases/" + w.published() + "/clues/" + w.clue() + "/photos")
			})
		}
	// Data export (P65): the walker's own export, built and ready.
	case strings.HasPrefix(path, "/api/v1/me/exports/{id}") && name == "id":
		return w.once("export", func() string { return w.export() })
	case strings.HasPrefix(path, "/api/v1/tickets/{id}") && name == "id":
		return w.once(o.key(), func() string { return w.ticket(w.token) })
	case strings.HasPrefix(path, "/api/v1/staff/tickets/{id}") && name == "id":
		return w.once(o.key(), func() string { return w.ticket(w.reporter) })
	// Partner organisations.
	case strings.HasPrefix(path, "/api/v1/admin/partner-orgs/{id}"):
		switch name {
		case "id":
			return w.org
		case "user":
			// A member added for the purpose, never the walker.
			return w.once(o.key(), func() string {
				id := w.newUser()
				apiWant(w.t, w.e.send(w.t, "POST", "/api/v1/admin/partner-orgs/"+w.org+"/staff", w.admin, map[string]string{"user_id": id}),
					http.StatusCreated)
				return id
			})
		}
	// The inbox of the account or of the device, as the request is sent.
	case strings.HasPrefix(path, "/api/v1/inbox/{id}"):
		return w.notification(o).ID
	case path == "/api/v1/me/shields/{id}":
		n := w.notification(o)
		sh, err := w.e.inbox.Dismiss(context.Background(), w.subject(o), n.ID, []notify.Reason{notify.ReasonKind})
		if err != nil || len(sh) != 1 {
			w.t.Fatalf("dismiss to make a shield: %v %v", sh, err)
		}
		return sh[0].ID
	}
	w.unresolved = true
	if schema != nil {
		if v, ok := w.gen.value(schema, name).(string); ok {
			return v
		}
	}
	return "p03-" + name
}

// once returns what build returned the first time key was asked for.
func (w *p03Walker) once(key string, build func() string) string {
	if v, ok := w.made[key]; ok {
		return v
	}
	v := build()
	w.made[key] = v
	return v
}

// newUser signs up an account that grants nothing optional and returns
// its id.
// ticket files a ticket as token and returns its id.
func (w *p03Walker) ticket(token string) string {
	r := w.e.send(w.t, "POST", "/api/v1/tickets", token, map[string]string{"category": "privacy_complaint", "text": "p03 walk"})
	apiWant(w.t, r, http.StatusCreated)
	return r.JSON(w.t)["id"].(string)
}

func (w *p03Walker) newUser() string {
	_, m := w.e.signUp(w.t, apiPhone())
	return m["user"].(map[string]any)["id"].(string)
}

// newCase creates a draft reported by the holder of token and returns its
// id.
func (w *p03Walker) newCase(token string) string {
	r := w.e.send(w.t, "POST", "/api/v1/cases", token, p03CaseBody())
	apiWant(w.t, r, http.StatusCreated)
	return r.JSON(w.t)["id"].(string)
}

// submitted is a new case reported by the holder of token, in review.
func (w *p03Walker) submitted(token string) string {
	id := w.newCase(token)
	apiWant(w.t, w.e.send(w.t, "POST", "/api/v1/cases/"+id+"/submit", token, nil), http.StatusOK)
	return id
}

// publish has the admin approve a case in review.
func (w *p03Walker) publish(id string) string {
	apiWant(w.t, w.e.send(w.t, "POST", "/api/v1/review/cases/"+id+"/approve", w.admin, nil), http.StatusOK)
	return id
}

// published is the case another person reported and an admin published.
func (w *p03Walker) published() string {
	return w.once("published", func() string { return w.publish(w.submitted(w.reporter)) })
}

// ownDraft is a draft the walker reported.
func (w *p03Walker) ownDraft() string {
	return w.once("own draft", func() string { return w.newCase(w.token) })
}

// clue is a clue the walker sent on the published case, a typed one: a
// place in the person's own words needs no consent.
func (w *p03Walker) clue() string {
	return w.once("clue", func() string {
		r := w.e.send(w.t, "POST", "/api/v1/cases/"+w.published()+"/clues", w.token, map[string]any{"text": "seen at the pier", "place_name": "码头"})
		apiWant(w.t, r, http.StatusCreated)
		return r.JSON(w.t)["id"].(string)
	})
}

// photo uploads a picture as the walker to path and returns its id.
func (w *p03Walker) photo(path string) string {
	r := w.e.do(w.t, apiReq{Method: "POST", Path: path, Token: w.token, CType: "image/png", Body: p03Image(w.t, "image/png")})
	apiWant(w.t, r, http.StatusCreated)
	return r.JSON(w.t)["id"].(string)
}

// subject is whose inbox o acts on: the walker's account, or its device.
func (w *p03Walker) subject(o p03Op) notify.Subject {
	if o.Auth == "device" {
		return notify.Device(w.devID)
	}
	return notify.User(w.userID)
}

// notification delivers a fresh alert to the inbox o acts on, one that
// every dismiss reason applies to.
func (w *p03Walker) notification(o p03Op) notify.Notification {
	w.t.Helper()
	sub := w.subject(o)
	n, created, err := w.e.inbox.Deliver(context.Background(), notify.Notification{Recipient: sub, Kind: notify.KindSeekingAlert,
		DedupeKey: "p03:" + uuid.NewString(), Title: "附近有人走失", Body: "请留意",
		Data: notify.Data{CaseID: "p03-case", Ring: 1, DistanceKM: 3, Link: "/cases/p03-case"}})
	if err != nil || !created {
		w.t.Fatalf("deliver to %v: %v", sub, err)
	}
	return n
}

// p03CaseBody is a valid case about a child.
func p03CaseBody() map[string]any {
	return map[string]any{
		"category":  "child",
		"person":    map[string]any{"full_name": "李小花", "sex": "female", "age": 6, "clothing": "yellow raincoat"},
		"last_seen": map[string]any{"at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "lat": 30.25, "lng": 120.15, "place_name": "西湖公园"},
		"private":   map[string]any{"relationship": "mother", "contact_phone": apiPhone()},
	}
}

// p03IDNumber is a valid resident ID number (GB 11643-1999): Beijing,
// born on 1 March 1985, its check character computed.
func p03IDNumber() string {
	first := "110101198503011" + fmt.Sprintf("%02d", apiPhoneSeq.Add(1)%100)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range first {
		sum += int(c-'0') * weights[i]
	}
	return first + string("10X98765432"[sum%11])
}

// request builds the request for o.
func (w *p03Walker) request(o p03Op) apiReq {
	t := w.t
	t.Helper()
	w.unresolved = false
	req := apiReq{Method: o.Method, Header: map[string]string{}}
	path := o.Path
	query := url.Values{}
	params, _ := o.Op["parameters"].([]any)
	for _, p := range params {
		p := apiResolve(t, p).(map[string]any)
		name, in := p["name"].(string), p["in"].(string)
		switch in {
		case "path":
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(w.pathParam(o, name, p["schema"])))
		case "query", "header":
			if required, _ := p["required"].(bool); !required {
				continue
			}
			v := fmt.Sprint(w.gen.value(p["schema"], name))
			if o.Path == "/api/v1/me/exports/{id}/download" && name == "token" {
				v = w.exportToken()
			}
			if in == "query" {
				query.Set(name, v)
			} else {
				req.Header[name] = v
			}
		}
	}
	if strings.Contains(path, "{") {
		t.Fatalf("%s: a path parameter is not described", o.key())
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	req.Path = path

	switch o.Auth {
	case "bearer":
		req.Token = w.token
		if tags, _ := o.Op["tags"].([]any); slices.Contains(tags, any("Admin")) || slices.Contains(tags, any("Review")) {
			req.Token = w.admin
		}
	case "device":
		req.Device = w.dev
	case "cookie":
		req.Header["Cookie"] = sessionCookie + "=" + w.token
	}

	if rb, ok := apiResolve(t, o.Op["requestBody"]).(map[string]any); ok {
		content := rb["content"].(map[string]any)
		mt := ""
		for _, c := range []string{"application/json", "image/png", "image/jpeg", "image/gif"} {
			if _, ok := content[c]; ok {
				mt = c
				break
			}
		}
		if mt == "" {
			t.Fatalf("%s: the walk cannot build a body of any of %v; teach it", o.key(), content)
		}
		if mt == "application/json" {
			schema := content[mt].(map[string]any)["schema"]
			body := w.gen.value(schema, "")
			// The generator must build what the document asks for.
			if errs := apiValidate(t, schema, body, "$"); len(errs) > 0 {
				t.Fatalf("%s: the generated body does not match openapi.json:\n  %s", o.key(), strings.Join(errs, "\n  "))
			}
			req.Body = body
		} else {
			req.CType, req.Body = mt, p03Image(t, mt)
		}
	}

	// What the schema cannot say.
	switch o.key() {
	case "POST /api/v1/auth/login":
		// A real code, sent just before.
		req.Body.(map[string]any)["code"] = w.e.sendCode(t, w.phone)
	case "POST /api/v1/auth/logout":
		// Logging out ends the session: a fresh one, not the walk's.
		if o.Auth == "bearer" {
			req.Token, _ = w.freshLogin()
		}
	}
	return req
}

// p03Send is apiEnv.do without the checks: the caller runs them.
func p03Send(tb testing.TB, e *apiEnv, r apiReq) apiResp {
	tb.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(j)
		if r.CType == "" {
			r.CType = "application/json"
		}
	}
	req, err := http.NewRequest(r.Method, e.ts.URL+r.Path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if r.CType != "" {
		req.Header.Set("Content-Type", r.CType)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Device != "" {
		req.Header.Set(deviceHeader, r.Device)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	b, err := apiReadBody(res)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", r.Method, r.Path, err)
	}
	return apiResp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// optionalGranted returns the optional purposes the subject has granted.
func (w *p03Walker) optionalGranted(who apiReq) []string {
	w.t.Helper()
	who.Method, who.Path, who.Body = "GET", "/api/v1/consents", nil
	r := w.e.do(w.t, who)
	apiWant(w.t, r, http.StatusOK)
	var out []string
	for _, c := range r.JSON(w.t)["consents"].([]any) {
		c := c.(map[string]any)
		if c["basis"] != string(consent.BasisNecessary) && c["granted"] == true {
			out = append(out, c["purpose"].(string))
		}
	}
	return out
}

// TestP03EveryOperationWithOptionalConsentsOff walks the whole documented
// API as a person who refused every optional purpose.
func TestP03EveryOperationWithOptionalConsentsOff(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		// Codes may be asked for back to back: the walk logs in a few
		// times.
		e := newAPIEnv(t, target, apiEnvOptions{identity: identity.Config{CodeResendInterval: time.Nanosecond, CodesPerPhoneDay: 100}})
		w := &p03Walker{t: t, e: e, phone: apiPhone()}

		// P01: the policy accepted, nothing else.
		var login map[string]any
		w.token, login = e.signUp(t, w.phone)
		w.userID = login["user"].(map[string]any)["id"].(string)
		r := e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "android"})
		apiWant(t, r, http.StatusCreated)
		w.dev = r.JSON(t)["token"].(string)
		w.devID = r.JSON(t)["device"].(map[string]any)["id"].(string)
		w.admin = e.staffToken(t, identity.RoleAdmin)
		w.made = map[string]string{}

		// People-seeking. Another person grants the real_name consent and
		// verifies a real name, so as to report cases (P10); the walker is
		// made staff of a partner rescue station, which may report cases
		// without a verification of its own.
		w.reporter, _ = e.signUp(t, apiPhone())
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/real_name", w.reporter, nil), http.StatusNoContent)
		apiWant(t, e.send(t, "POST", "/api/v1/me/real-name", w.reporter, map[string]string{"real_name": "张三", "id_number": p03IDNumber()}),
			http.StatusCreated)
		r = e.send(t, "POST", "/api/v1/admin/partner-orgs", w.admin, map[string]string{"name": "P03 rescue station", "kind": "rescue_station"})
		apiWant(t, r, http.StatusCreated)
		w.org = r.JSON(t)["id"].(string)
		apiWant(t, e.send(t, "POST", "/api/v1/admin/partner-orgs/"+w.org+"/staff", w.admin, map[string]string{"user_id": w.userID}),
			http.StatusCreated)
		asUser, asDevice := apiReq{Token: w.token}, apiReq{Device: w.dev}
		for _, who := range []apiReq{asUser, asDevice} {
			if g := w.optionalGranted(who); len(g) != 0 {
				t.Fatalf("P01: optional purposes %v granted before any choice", g)
			}
		}

		// Purposes for the bulk grant: every optional one a single request
		// may grant (P05: sensitive ones only alone).
		var bulk []any
		for _, d := range e.consent.DataMap().Purposes {
			if d.Basis == consent.BasisConsent && !d.Sensitive {
				bulk = append(bulk, string(d.ID))
			}
		}
		w.gen = &p03Gen{tb: t,
			hints: map[string]any{
				"phone":          apiE164(w.phone),
				"guardian_phone": apiE164(apiPhone()),
				"minor_phone":    apiE164(apiPhone()),
				"password":       "Yuncan-P03 walk 2026",
				"version":        "p03-walk",
				"purposes":       bulk,
				// An account to make staff of the rescue station.
				"user_id": w.newUser(),
			},
			refs: map[string]any{"#/components/schemas/PurposeID": string(consent.PurposeContacts)},
		}

		ops, documented := p03Operations(t)
		touched := map[string]bool{}
		var table []string
		phase := 0
		for _, o := range ops {
			if o.phase() > phase {
				// P03: nothing before the consent decisions switched an
				// optional purpose on (the privacy settings patch sends
				// false everywhere).
				if phase == 0 {
					for _, who := range []apiReq{asUser, asDevice} {
						if g := w.optionalGranted(who); len(g) != 0 {
							t.Errorf("P03: optional purposes %v were switched on by operations that are not consent decisions", g)
						}
					}
				}
				// After the consent decisions, back to all off, so that the
				// destructive operations run as the walker too.
				if phase == 1 {
					for _, who := range []apiReq{asUser, asDevice} {
						for _, p := range w.optionalGranted(who) {
							who.Method, who.Path = "DELETE", "/api/v1/consents/"+p
							apiWant(t, e.do(t, who), http.StatusNoContent)
						}
					}
				}
				phase = o.phase()
			}
			req := w.request(o)
			// Sent unchecked, so that a P03 failure is named as such before
			// the checks against openapi.json (which stop the test) run.
			r := p03Send(t, e, req)
			touched[o.key()] = true
			line := fmt.Sprintf("%-7s %-45s %-6s → %d", o.Method, o.Path, o.Auth, r.Status)
			var er apiErrorShape
			if r.Status >= 400 && len(r.Body) > 0 && json.Unmarshal(r.Body, &er) == nil && er.Error.Code != "" {
				line += " " + er.Error.Code
				if er.Error.Purpose != "" {
					line += " (" + er.Error.Purpose + ")"
				}
			}
			table = append(table, line)

			need := p03NeedsConsent[o.key()]
			switch {
			case r.Status >= 500:
				t.Errorf("%s as %s: %d, a server error: %s", o.key(), o.Auth, r.Status, r.Body)
			case need != "" && r.Status == http.StatusForbidden && er.Error.Code == "consent_required" && er.Error.Purpose == need:
				// P05: the function that needs the purpose refuses without it.
			case need != "":
				t.Errorf("P05: %s as %s answered %d without the %s consent; want 403 consent_required", o.key(), o.Auth, r.Status, need)
			case r.Status == http.StatusForbidden && slices.Contains(p03ConsentCodes, er.Error.Code):
				t.Errorf("P03: %s as %s is refused for a missing consent (%s, purpose %q): no route needs an optional consent just to be used",
					o.key(), o.Auth, er.Error.Code, er.Error.Purpose)
			case r.Status < 300:
			case p03Expected[o.key()].Status == r.Status && p03Expected[o.key()].Code == er.Error.Code:
			case w.unresolved && r.Status == http.StatusNotFound:
				t.Logf("%s: 404 for a path parameter the walk does not know; teach pathParam", o.key())
			case o.phase() == 1 && r.Status == http.StatusBadRequest && er.Error.Code == "sensitive_needs_separate_consent":
				// P05: a consent route may refuse a bundle.
			default:
				t.Errorf("%s as %s: %d %s; the walk's request should be valid: %s", o.key(), o.Auth, r.Status, er.Error.Code, r.Body)
			}

			if r.Status >= 400 && strings.HasPrefix(req.Path, "/api/") {
				apiCheckErrorShape(t, o.key(), r)
			}
			apiCheckAgainstDoc(t, req.Method, req.Path, r)

			if o.key() == "POST /api/v1/guardian-requests" && r.Status == http.StatusCreated {
				w.guardianRequestID = r.JSON(t)["id"].(string)
			}
		}

		t.Logf("P03 walk on %s, optional consents off (%d requests):\n%s", target.Name, len(table), strings.Join(table, "\n"))
		if len(touched) != documented {
			t.Errorf("the walk touched %d operations; openapi.json documents %d", len(touched), documented)
		}
		for k := range p03Expected {
			if !touched[k] {
				t.Errorf("p03Expected names %s, which openapi.json does not document", k)
			}
		}
		for _, k := range p03Destructive {
			if !touched[k] {
				t.Errorf("p03Destructive names %s, which openapi.json does not document", k)
			}
		}
		// The walker is still logged in and still refuses everything.
		apiWant(t, e.get(t, "/api/v1/me", w.token), http.StatusOK)
		if g := w.optionalGranted(asUser); len(g) != 0 {
			t.Errorf("after the walk, optional purposes %v are granted", g)
		}
	})
}

// TestP03RefusalShape: the function that does need an optional purpose
// is refused with 403, code consent_required and the purpose, and the
// refusal stores nothing.
func TestP03RefusalShape(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		ctx := context.Background()
		tok, login := e.signUp(t, apiPhone())
		user := consent.User(login["user"].(map[string]any)["id"].(string))
		before := e.get(t, "/api/v1/consents/history", tok)
		apiWant(t, before, http.StatusOK)
		errSchema := map[string]any{"$ref": "#/components/schemas/Error"}

		for _, d := range e.consent.DataMap().Purposes {
			err := e.consent.Require(ctx, user, d.ID)
			if d.Basis == consent.BasisNecessary {
				if err != nil {
					t.Errorf("P03: the necessary purpose %s is refused: %v", d.ID, err)
				}
				continue
			}
			if yuncan.ErrorCode(err) != yuncan.Forbidden || yuncan.ErrorReason(err) != "consent_required" {
				t.Errorf("P03: %s without consent: %v, want consent_required", d.ID, err)
				continue
			}
			// Through the HTTP layer: 403, the code and the purpose.
			rec := httptest.NewRecorder()
			e.srv.writeError(rec, httptest.NewRequest("GET", "/api/v1/x", nil), err)
			if rec.Code != http.StatusForbidden {
				t.Errorf("P03: %s refused with %d, want 403", d.ID, rec.Code)
			}
			er := apiCheckErrorShape(t, string(d.ID), apiResp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()})
			if er.Error.Code != "consent_required" || er.Error.Purpose != string(d.ID) {
				t.Errorf("P03: %s refused as %s", d.ID, rec.Body)
			}
			var v any
			json.Unmarshal(rec.Body.Bytes(), &v)
			if errs := apiValidate(t, errSchema, v, "$"); len(errs) > 0 {
				t.Errorf("P03: the refusal does not match the Error schema: %v", errs)
			}
		}
		// Refusals store nothing: the ledger is as it was.
		after := e.get(t, "/api/v1/consents/history", tok)
		if !bytes.Equal(before.Body, after.Body) {
			t.Errorf("refusals changed the ledger:\n%s\n%s", before.Body, after.Body)
		}
	})
}

// export is the walker's export request, built: made here unless the walk
// asked for one already (one a week).
func (w *p03Walker) export() string {
	r := w.e.send(w.t, "POST", "/api/v1/me/exports", w.token, nil)
	if r.Status != http.StatusAccepted {
		apiWant(w.t, r, http.StatusTooManyRequests)
	}
	if err := w.e.rights.BuildExports(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	r = w.e.send(w.t, "GET", "/api/v1/me/exports", w.token, nil)
	apiWant(w.t, r, http.StatusOK)
	xs := r.JSON(w.t)["exports"].([]any)
	if len(xs) == 0 {
		w.t.Fatal("no export after asking for one")
	}
	return xs[0].(map[string]any)["id"].(string)
}

// exportToken is the token of a fresh download link of the walker's export.
func (w *p03Walker) exportToken() string {
	r := w.e.send(w.t, "POST", "/api/v1/me/exports/"+w.once("export", func() string { return w.export() })+"/link", w.token, nil)
	apiWant(w.t, r, http.StatusOK)
	u, err := url.Parse(r.JSON(w.t)["url"].(string))
	if err != nil {
		w.t.Fatal(err)
	}
	return u.Query().Get("token")
}
