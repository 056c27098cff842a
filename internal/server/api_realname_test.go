package server

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/certify"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// rnCheck computes the GB 11643-1999 check character of 17 digits.
func rnCheck(first17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * w[i]
	}
	return string("10X98765432"[sum%11])
}

// rnID is a valid Beijing ID number born on birth (YYYYMMDD) with
// sequence seq.
func rnID(birth, seq string) string { return rnIDIn("110101", birth, seq) }

// rnIDIn is rnID in another region, with its check character.
func rnIDIn(region, birth, seq string) string {
	s := region + birth + seq
	return s + rnCheck(s)
}

// rnEnv is the API with real-name verification wired as cmd/yuncan wires
// it: the outbox certifier, the consent gate, the withdrawal hook.
type rnEnv struct {
	*apiEnv
	certOutbox string
}

func newRealNameEnv(tb testing.TB, target storetest.Target) *rnEnv {
	tb.Helper()
	e := newAPIEnv(tb, target, apiEnvOptions{})
	path := filepath.Join(tb.TempDir(), "outbox", "certifier.jsonl")
	gate := func(ctx context.Context, userID string) error {
		return e.consent.Require(ctx, consent.User(userID), consent.PurposeRealName)
	}
	e.srv.realNames = identity.NewRealNameVerifier(e.ident, certify.NewOutbox(path, nil), gate, identity.RealNameConfig{})
	e.consent.OnWithdraw(consent.PurposeRealName, "identity.real_name", func(ctx context.Context, sub consent.Subject) error {
		if sub.Kind != consent.SubjectUser {
			return nil
		}
		return e.ident.DeleteRealName(ctx, sub.ID)
	})
	return &rnEnv{apiEnv: e, certOutbox: path}
}

// rows counts the rows of the real-name tables.
func (e *rnEnv) rows(tb testing.TB) (names, attempts int) {
	tb.Helper()
	ctx := context.Background()
	if err := e.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM real_names`).Scan(&names); err != nil {
		tb.Fatal(err)
	}
	if err := e.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM real_name_attempts`).Scan(&attempts); err != nil {
		tb.Fatal(err)
	}
	return names, attempts
}

// consentedUser signs up and grants the real-name consent.
func (e *rnEnv) consentedUser(tb testing.TB) string {
	tb.Helper()
	tok, _ := e.signUp(tb, apiPhone())
	apiWant(tb, e.send(tb, "PUT", "/api/v1/consents/real_name", tok, nil), http.StatusNoContent)
	return tok
}

func rnBody(name, id string) map[string]string {
	return map[string]string{"real_name": name, "id_number": id}
}

func TestRealNameAPIJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newRealNameEnv(t, target)
		id := rnID("19900307", "123")
		tok, _ := e.signUp(t, apiPhone())

		r := e.get(t, "/api/v1/me/real-name", tok)
		apiWant(t, r, http.StatusOK)
		if m := r.JSON(t); m["verified"] != false || m["real_name_masked"] != nil || m["id_number_masked"] != nil || m["verified_at"] != nil {
			t.Errorf("status before = %s", r.Body)
		}

		// P10: the separate sensitive consent comes first; without it
		// nothing is asked or stored.
		r = e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", id))
		if er := apiWantError(t, r, http.StatusForbidden, "consent_required"); er.Error.Purpose != "real_name" {
			t.Errorf("consent_required names %q, want real_name", er.Error.Purpose)
		}
		if names, attempts := e.rows(t); names != 0 || attempts != 0 {
			t.Fatalf("without consent: %d verifications, %d attempts stored", names, attempts)
		}
		if _, err := os.Stat(e.certOutbox); !os.IsNotExist(err) {
			t.Errorf("the certifier was asked without consent (%v)", err)
		}
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/real_name", tok, nil), http.StatusNoContent)

		for _, tc := range []struct {
			body   any
			reason string
		}{
			{rnBody("张三", id[:17]+rnOther(id[17:])), "id_number_checksum"},
			{rnBody("张三", "110101900307123"), "id_number_old_format"},
			{rnBody("张三", rnID("20991231", "123")), "id_number_birth_date"},
			{rnBody("张三", rnIDIn("990101", "19900307", "123")), "id_number_region"},
			{rnBody("张", id), "invalid_real_name"},
			{map[string]any{"real_name": "张三", "id_number": id, "phone": "13800138000"}, "unknown_field"},
			{map[string]any{"real_name": "张三", "id_number": 110101}, "wrong_type"},
		} {
			r := e.send(t, "POST", "/api/v1/me/real-name", tok, tc.body)
			apiWantError(t, r, http.StatusBadRequest, tc.reason)
			if bytes.Contains(r.Body, []byte(id[6:14])) {
				t.Errorf("%s: the error repeats the number: %s", tc.reason, r.Body)
			}
		}

		r = e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", strings.ToLower(id)))
		apiWant(t, r, http.StatusCreated)
		want := map[string]any{"verified": true, "real_name_masked": "张*", "id_number_masked": "1101**********" + id[14:]}
		m := r.JSON(t)
		for k, v := range want {
			if m[k] != v {
				t.Errorf("POST answer %s = %v, want %v", k, m[k], v)
			}
		}
		if _, ok := m["verified_at"].(string); !ok {
			t.Errorf("POST answer without verified_at: %s", r.Body)
		}
		// P10: only ever masked.
		for _, resp := range []apiResp{r, e.get(t, "/api/v1/me/real-name", tok), e.get(t, "/api/v1/me", tok)} {
			if bytes.Contains(resp.Body, []byte(id[6:14])) || bytes.Contains(resp.Body, []byte("张三")) {
				t.Errorf("a response shows the number or name in clear: %s", resp.Body)
			}
		}
		r = e.get(t, "/api/v1/me/real-name", tok)
		apiWant(t, r, http.StatusOK)
		for k, v := range want {
			if r.JSON(t)[k] != v {
				t.Errorf("GET %s = %v, want %v", k, r.JSON(t)[k], v)
			}
		}
		if ok, err := e.ident.RealNameVerified(context.Background(), e.userID(t, tok)); err != nil || !ok {
			t.Errorf("RealNameVerified = %v, %v", ok, err)
		}

		// The development certifier's outbox holds the check, masked.
		out, err := os.ReadFile(e.certOutbox)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out, []byte(id[4:14])) || bytes.Contains(out, []byte("张三")) || !bytes.Contains(out, []byte("1101**********"+id[14:])) {
			t.Errorf("certifier outbox: %s", out)
		}

		apiWantError(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", id)), http.StatusConflict, "real_name_already_verified")

		apiWant(t, e.send(t, "DELETE", "/api/v1/me/real-name", tok, nil), http.StatusNoContent)
		if m := e.get(t, "/api/v1/me/real-name", tok).JSON(t); m["verified"] != false {
			t.Errorf("after DELETE: %v", m)
		}
		if names, _ := e.rows(t); names != 0 {
			t.Errorf("%d verifications after DELETE", names)
		}
		apiWant(t, e.send(t, "DELETE", "/api/v1/me/real-name", tok, nil), http.StatusNoContent)
	})
}

// rnOther is a check character other than c.
func rnOther(c string) string {
	if c == "1" {
		return "2"
	}
	return "1"
}

// userID is the account id of a session token.
func (e *rnEnv) userID(tb testing.TB, tok string) string {
	tb.Helper()
	a, err := e.ident.Authenticate(context.Background(), tok)
	if err != nil {
		tb.Fatal(err)
	}
	return a.User.ID
}

func TestRealNameAPIMismatch(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newRealNameEnv(t, target)
		tok := e.consentedUser(t)
		apiWantError(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody(certify.MismatchName, rnID("19900307", "124"))),
			http.StatusBadRequest, "real_name_mismatch")
		if names, _ := e.rows(t); names != 0 {
			t.Errorf("%d verifications stored after a mismatch", names)
		}
		if m := e.get(t, "/api/v1/me/real-name", tok).JSON(t); m["verified"] != false {
			t.Errorf("verified after a mismatch: %v", m)
		}
	})
}

// P10: one ID number verifies one account.
func TestRealNameAPIIDNumberInUse(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newRealNameEnv(t, target)
		id := rnID("19850101", "555")
		a, b := e.consentedUser(t), e.consentedUser(t)
		apiWant(t, e.send(t, "POST", "/api/v1/me/real-name", a, rnBody("张三", id)), http.StatusCreated)
		apiWantError(t, e.send(t, "POST", "/api/v1/me/real-name", b, rnBody("张三", id)), http.StatusConflict, "id_number_in_use")
		if m := e.get(t, "/api/v1/me/real-name", b).JSON(t); m["verified"] != false {
			t.Errorf("the second account is verified: %v", m)
		}
	})
}

func TestRealNameAPIRateLimit(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newRealNameEnv(t, target)
		tok := e.consentedUser(t)
		body := rnBody(certify.MismatchName, rnID("19900307", "125"))
		for range 5 {
			apiWantError(t, e.send(t, "POST", "/api/v1/me/real-name", tok, body), http.StatusBadRequest, "real_name_mismatch")
		}
		r := e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", rnID("19900307", "125")))
		apiWantError(t, r, http.StatusTooManyRequests, "real_name_attempts_exceeded")
		if _, attempts := e.rows(t); attempts != 5 {
			t.Errorf("%d attempts stored, want 5", attempts)
		}
	})
}

// P10, P63: withdrawing the real-name consent deletes the verification at
// once, and the gate closes again.
func TestRealNameAPIWithdrawalDeletes(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newRealNameEnv(t, target)
		tok := e.consentedUser(t)
		id := rnID("19900307", "126")
		apiWant(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", id)), http.StatusCreated)
		apiWant(t, e.send(t, "DELETE", "/api/v1/consents/real_name", tok, nil), http.StatusNoContent)

		if m := e.get(t, "/api/v1/me/real-name", tok).JSON(t); m["verified"] != false {
			t.Errorf("still verified after the withdrawal: %v", m)
		}
		if names, _ := e.rows(t); names != 0 {
			t.Errorf("%d verifications left after the withdrawal", names)
		}
		err := e.ident.RequireRealName(context.Background(), e.userID(t, tok))
		if yuncan.ErrorCode(err) != yuncan.Forbidden || yuncan.ErrorReason(err) != "real_name_required" {
			t.Errorf("RequireRealName after the withdrawal: %v", err)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", id)), http.StatusForbidden, "consent_required")
	})
}

func TestRealNameAPINeedsLogin(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newRealNameEnv(t, target)
		for _, m := range []string{"GET", "POST", "DELETE"} {
			apiWantError(t, e.send(t, m, "/api/v1/me/real-name", "", rnBody("张三", rnID("19900307", "127"))), http.StatusUnauthorized, "unauthenticated")
		}
	})
}

// A server wired without a certifier answers 503 and stores nothing.
func TestRealNameAPIUnconfigured(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		e.srv.realNames = nil // as a server started without a certifier
		tok, _ := e.signUp(t, apiPhone())
		apiWantError(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", rnID("19900307", "128"))),
			http.StatusServiceUnavailable, "certifier_unavailable")
		apiWant(t, e.get(t, "/api/v1/me/real-name", tok), http.StatusOK)
	})
}

// P10, P52: after a verification the ID number and the real name are
// nowhere in the database in clear: not in the SQLite file (nor its WAL),
// not in any PostgreSQL table.
func TestRealNameIDNumberNeverStoredInClear(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newRealNameEnv(t, target)
		id := rnID("19760815", "937")
		const name = "欧阳娜娜"
		tok := e.consentedUser(t)
		apiWant(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody(name, id)), http.StatusCreated)
		// Both forms of the number's telling part: the whole number and
		// the 17 digits before the check character.
		secrets := [][]byte{[]byte(id), []byte(id[:17]), []byte(name)}

		if target.DSN == "" {
			if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM real_names`).Scan(new(int)); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(target.DataDir, "yuncan.db*"))
			if len(files) == 0 {
				t.Fatal("no SQLite file")
			}
			scanned := 0
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				scanned += len(b)
				for _, s := range secrets {
					if bytes.Contains(b, s) {
						t.Errorf("%s holds %q in clear", filepath.Base(f), s)
					}
				}
			}
			// The scan can find what it looks for: the nickname is stored
			// in clear, so it must show up.
			var nick string
			if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT nickname FROM users LIMIT 1`).Scan(&nick); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range files {
				b, _ := os.ReadFile(f)
				found = found || bytes.Contains(b, []byte(nick))
			}
			if !found {
				t.Fatalf("the scan of %d bytes cannot find the nickname %q either", scanned, nick)
			}
			return
		}
		db, err := sql.Open("pgx", target.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			tables = append(tables, s)
		}
		rows.Close()
		if len(tables) < 4 {
			t.Fatalf("found only tables %v", tables)
		}
		for _, tbl := range tables {
			rows, err := db.Query(`SELECT t::text FROM ` + tbl + ` t`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				rows.Scan(&s)
				for _, sec := range secrets {
					if strings.Contains(s, string(sec)) {
						t.Errorf("table %s holds %q in clear", tbl, sec)
					}
				}
			}
			rows.Close()
		}
	})
}

// FuzzRealNameRequest: whatever body arrives at POST /api/v1/me/real-name,
// decoding and the field checks answer a client error, never a panic or a
// server error, and never repeat the number.
func FuzzRealNameRequest(f *testing.F) {
	for _, s := range []string{
		`{"real_name":"张三","id_number":"11010519491231002X"}`, `{"real_name":"张三","id_number":"11010519491231002x"}`,
		`{"real_name":"","id_number":""}`, `{"real_name":1}`, `{"id_number":null}`, `{"real_name":"John  Smith","id_number":"110101900307123"}`,
		`{"real_name":"买买提·艾力","id_number":"１１０１０５１９４９１２３１００２Ｘ"}`, `{"REAL_NAME":"x"}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req realNameRequest
		if err := decodeJSON(body, &req); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		_, nameErr := identity.ParseRealName(req.RealName)
		id, idErr := identity.ParseIDNumber(req.IDNumber, now)
		for _, err := range []error{nameErr, idErr} {
			if err != nil && yuncan.ErrorCode(err) != yuncan.Invalid {
				t.Fatalf("%q: %v is not a client error", body, err)
			}
			if err != nil && len(req.IDNumber) >= 14 && strings.Contains(err.Error(), req.IDNumber) {
				t.Fatalf("%q: error %v repeats the number", body, err)
			}
		}
		if idErr == nil && len(id) != 18 {
			t.Fatalf("%q: accepted %q", body, string(id))
		}
	})
}
