package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

func TestVersionAndHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "yuncan ") {
		t.Errorf("version printed %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve", "migrate", "admin create-user", "rotate-keys", "-addr", "YUNCAN_DB", "-log-format"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if err := run(context.Background(), []string{"nope"}, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
		t.Error("an unknown command succeeded")
	}
}

// Flags fall back to their YUNCAN_* twins.
func TestEnvironmentTwins(t *testing.T) {
	env := map[string]string{"YUNCAN_ADDR": "127.0.0.1:9999", "YUNCAN_DATA": "/x", "YUNCAN_DB": "postgres://h/db",
		"YUNCAN_BASE_URL": "https://y.example", "YUNCAN_LOG_FORMAT": "json", "YUNCAN_LOG_LEVEL": "debug"}
	f := newFlags("serve", func(k string) string { return env[k] }, io.Discard)
	if err := f.fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	want := config{Addr: "127.0.0.1:9999", Data: "/x", DB: "postgres://h/db", BaseURL: "https://y.example", LogFormat: "json", LogLevel: "debug"}
	if *f.cfg != want {
		t.Errorf("config from env = %+v, want %+v", *f.cfg, want)
	}
	f = newFlags("serve", func(k string) string { return env[k] }, io.Discard)
	if err := f.fs.Parse([]string{"--addr", "127.0.0.1:1"}); err != nil || f.cfg.Addr != "127.0.0.1:1" {
		t.Errorf("a flag does not win over its env twin: %v %s", err, f.cfg.Addr)
	}
	for _, bad := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--base-url", "ftp://x"}} {
		err := run(context.Background(), append([]string{"serve", "--data", t.TempDir()}, bad...), func(string) string { return "" }, nil, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("serve %v started", bad)
		}
	}
}

// The walk-through of the README on both databases: sign up, look at the
// profile, edit it, log out; then a graceful stop.
func TestServeJourney(t *testing.T) {
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			inst := start(t, tg.DataDir, tg.DSN)
			for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
				if st := call(t, "GET", inst.URL+p, "", nil, nil); st != 200 {
					t.Errorf("GET %s = %d", p, st)
				}
			}
			lo := signUp(t, inst, "+8613800138000")
			var me map[string]any
			if st := call(t, "GET", inst.URL+"/api/v1/me", lo.Token, nil, &me); st != 200 {
				t.Fatalf("GET /me = %d", st)
			}
			// P08: the optional profile fields start empty.
			for _, k := range []string{"gender", "birthday", "region", "introduction"} {
				if v, ok := me[k]; !ok || v != nil {
					t.Errorf("me.%s = %v, want null", k, v)
				}
			}
			if me["nickname"] == "" || me["phone_masked"] != "138****8000" {
				t.Errorf("me = %v", me)
			}
			if st := call(t, "PATCH", inst.URL+"/api/v1/me", lo.Token, map[string]any{"nickname": "小明", "region": "郑州"}, &me); st != 200 || me["region"] != "郑州" {
				t.Fatalf("PATCH /me = %d %v", st, me)
			}
			if st := call(t, "POST", inst.URL+"/api/v1/auth/logout", lo.Token, nil, nil); st != 204 {
				t.Fatalf("logout = %d", st)
			}
			if st := call(t, "GET", inst.URL+"/api/v1/me", lo.Token, nil, nil); st != 401 {
				t.Fatalf("GET /me after logout = %d", st)
			}
			inst.stop()
			if !strings.Contains(inst.logs.String(), `"msg":"shutting down"`) {
				t.Error("no graceful shutdown in the log")
			}
		})
	}
}

// P52: the phone number is sealed at rest: its digits appear nowhere in
// the SQLite file (nor its WAL) or in any PostgreSQL table.
func TestPhoneNeverStoredInClear(t *testing.T) {
	const phone, digits = "+8613912345678", "13912345678"
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			inst := start(t, tg.DataDir, tg.DSN)
			lo := signUp(t, inst, phone)
			call(t, "POST", inst.URL+"/api/v1/auth/sms-codes", "", map[string]string{"phone": phone}, nil)
			if st := call(t, "PATCH", inst.URL+"/api/v1/me", lo.Token, map[string]any{"introduction": "call me"}, nil); st != 200 {
				t.Fatalf("PATCH = %d", st)
			}
			inst.stop()
			// The scan is able to find the number: the development outbox
			// holds it by design (it is the SMS that went out).
			if b, _ := os.ReadFile(filepath.Join(tg.DataDir, "outbox", "sms.jsonl")); !bytes.Contains(b, []byte(digits)) {
				t.Fatal("the scan cannot find the number even in the outbox")
			}
			if tg.DSN == "" {
				files, _ := filepath.Glob(filepath.Join(tg.DataDir, "yuncan.db*"))
				if len(files) == 0 {
					t.Fatal("no SQLite file")
				}
				for _, f := range files {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					if bytes.Contains(b, []byte(digits)) {
						t.Errorf("%s holds the phone number in clear", filepath.Base(f))
					}
				}
				return
			}
			db, err := sql.Open("pgx", tg.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			tables := pgTables(t, db)
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
					if strings.Contains(s, digits) {
						t.Errorf("table %s holds the phone number in clear", tbl)
					}
				}
				rows.Close()
			}
		})
	}
}

func pgTables(t *testing.T, db *sql.DB) []string {
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// Killing the process during sign-ups loses no account whose creation
// was acknowledged: a real process is killed with SIGKILL mid-stream,
// then every acknowledged account is looked up in the database.
func TestCrashLosesNoAcknowledgedSignUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			inst, cmd := startProcess(t, tg.DataDir, tg.DSN)
			var mu sync.Mutex
			acked := map[string]string{} // user id → phone
			var wg sync.WaitGroup
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ctx.Err() == nil; i++ {
						phone := fmt.Sprintf("+86138%d%07d", w, i)
						id, ok := trySignUp(inst, phone)
						if !ok {
							return // the process is gone
						}
						mu.Lock()
						acked[id] = phone
						mu.Unlock()
					}
				}()
			}
			for {
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 20 || ctx.Err() != nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			wg.Wait()
			if len(acked) < 20 {
				t.Fatalf("only %d sign-ups were acknowledged before the deadline", len(acked))
			}
			db, err := sqlstore.Open(context.Background(), tg.DSN, tg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			keys, err := keyring.Load(filepath.Join(tg.DataDir, "keys", "keyring.json"))
			if err != nil {
				t.Fatal(err)
			}
			for id, phone := range acked {
				u, err := db.Identity().UserByID(context.Background(), id)
				if err != nil {
					t.Errorf("acknowledged account %s is lost: %v", id, err)
					continue
				}
				if u.PhoneIndex != keys.BlindIndex("phone", phone) {
					t.Errorf("account %s has another phone", id)
				}
			}
			t.Logf("%d acknowledged sign-ups survived SIGKILL", len(acked))
		})
	}
}

// startProcess starts this test binary as `yuncan serve` in a child
// process (see TestMain).
func startProcess(t *testing.T, data, dsn string) (*instance, *exec.Cmd) {
	t.Helper()
	args, _ := json.Marshal([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--db", dsn, "--log-format", "json"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "YUNCAN_TEST_RUN_ARGS="+string(args))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := waitListening(t, stderr)
	go io.Copy(io.Discard, stderr)
	return &instance{t: t, URL: "http://" + addr, Data: data}, cmd
}

// trySignUp signs up without failing the test, since the process may be
// killed at any moment; ok is false once a request fails.
func trySignUp(inst *instance, phone string) (id string, ok bool) {
	post := func(path string, body any, out any) int {
		b, _ := json.Marshal(body)
		resp, err := httpClient.Post(inst.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	if post("/api/v1/auth/sms-codes", map[string]string{"phone": phone}, nil) != 202 {
		return "", false
	}
	code := ""
	b, _ := os.ReadFile(filepath.Join(inst.Data, "outbox", "sms.jsonl"))
	for _, l := range bytes.Split(b, []byte("\n")) {
		var m struct{ To, Code string }
		if json.Unmarshal(l, &m) == nil && m.To == phone {
			code = m.Code
		}
	}
	var out loginOut
	if post("/api/v1/auth/login", map[string]string{"phone": phone, "code": code, "accept_policy_version": "2021-05-01", "age_band": "adult"}, &out) != 200 {
		return "", false
	}
	return out.User.ID, true
}
