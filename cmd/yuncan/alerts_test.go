package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// The fan-out's flags are checked before anything starts, and listed in
// the help.
func TestAlertFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, noEnv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-nats", "YUNCAN_NATS_URL", "-alert-rings", "-alert-daily-cap", "-alert-quiet-hours", "-alert-tick"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	rings := filepath.Join(t.TempDir(), "rings.json")
	os.WriteFile(rings, []byte(`{"child": [{"after": "0h", "radius_km": 100}, {"after": "1h", "radius_km": 50}]}`), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--alert-rings", rings}, "radius_km 50 must be more than ring 1's 100"},
		{[]string{"--alert-rings", filepath.Join(t.TempDir(), "none.json")}, "none.json"},
		{[]string{"--alert-quiet-hours", "22-7"}, "--alert-quiet-hours"},
		{[]string{"--alert-quiet-zone", "Mars/Olympus"}, "--alert-quiet-zone"},
		{[]string{"--alert-tick", "10ms"}, "--alert-tick"},
		{[]string{"--alert-daily-cap", "0"}, "--alert-daily-cap"},
		{[]string{"--alert-workers", "0"}, "--alert-workers"},
		{[]string{"--alert-batch-size", "0"}, "--alert-batch-size"},
	} {
		data := t.TempDir()
		err := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, tc.args...), noEnv, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
		// Refused before anything was written.
		if entries, _ := os.ReadDir(data); len(entries) != 0 {
			t.Errorf("serve %v wrote to the data folder before refusing", tc.args)
		}
	}
	env := map[string]string{"YUNCAN_ALERT_DAILY_CAP": "5", "YUNCAN_ALERT_QUIET_HOURS": "off", "YUNCAN_NATS_URL": "nats://x:4222"}
	f := newFlags("serve", func(k string) string { return env[k] }, io.Discard)
	af := addAlertFlags(f.fs, func(k string) string { return env[k] })
	if err := f.fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := af.config()
	if err != nil || cfg.DailyCap != 5 || !cfg.Quiet.Off || af.NATS != "nats://x:4222" || af.Tick != 10*time.Second {
		t.Errorf("from the environment: %+v %+v %v", af, cfg, err)
	}
}

// startProcessWith starts this test binary as `yuncan serve` with extra
// flags in a child process (see TestMain).
func startProcessWith(t *testing.T, data, dsn string, extra ...string) (*instance, *exec.Cmd) {
	t.Helper()
	args, _ := json.Marshal(append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--db", dsn, "--log-format", "json"}, extra...))
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

// countAlerts counts the alerts about a case in the database.
func countAlerts(t *testing.T, db *sqlstore.DB, caseID string) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM notifications WHERE kind = 'seeking_alert' AND case_id = ?`
	if db.Dialect() == sqlstore.Postgres {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), q, caseID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// alertsInInbox lists the alerts about the case in a person's inbox.
func alertsInInbox(t *testing.T, inst *instance, token, caseID string) int {
	t.Helper()
	var page struct {
		Items []struct {
			Kind string `json:"kind"`
			Data struct {
				CaseID string `json:"case_id"`
				Ring   int    `json:"ring"`
			} `json:"data"`
		} `json:"items"`
	}
	if st := call(t, "GET", inst.URL+"/api/v1/inbox?limit=100", token, nil, &page); st != 200 {
		t.Fatalf("inbox: %d", st)
	}
	n := 0
	for _, it := range page.Items {
		if it.Kind == "seeking_alert" && it.Data.CaseID == caseID {
			n++
		}
	}
	return n
}

// Flow 1 through the real process: people sign up, consent to alerts and
// send positions; a case is published and approved through the API; the
// process is killed with SIGKILL in the middle of the fan-out; after the
// restart every intended recipient has the alert in their inbox exactly
// once, and nobody else has it (P23).
func TestAlertFanOutSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			ctx := context.Background()
			args := []string{"--data", tg.DataDir, "--db", tg.DSN}
			if err := run(ctx, append([]string{"migrate"}, args...), noEnv, nil, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			const modPhone = "+8613600000001"
			if err := run(ctx, append([]string{"admin", "create-user", "--phone", modPhone, "--role", "moderator"}, args...), noEnv, nil, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			// One recipient a batch and one worker: the fan-out lasts long
			// enough to be interrupted.
			extra := []string{"--alert-batch-size", "1", "--alert-workers", "1", "--alert-tick", "1s"}
			inst, cmd := startProcessWith(t, tg.DataDir, tg.DSN, extra...)
			db, err := sqlstore.Open(ctx, tg.DSN, tg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			rep := signUp(t, inst, "+8613600000002")
			// P10: the reporter is real-name verified, written as the
			// certifier would.
			if err := db.Identity().CreateRealName(ctx, identity.RealNameRecord{UserID: rep.User.ID, NameSealed: "k:x", IDNumberSealed: "k:y",
				IDNumberIndex: "idx-" + rep.User.ID, CertifierReference: "test", VerifiedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			var pol struct{ Version string }
			call(t, "GET", inst.URL+"/api/v1/privacy/policy", "", nil, &pol)
			call(t, "POST", inst.URL+"/api/v1/auth/sms-codes", "", map[string]string{"phone": modPhone}, nil)
			var mod loginOut
			if st := call(t, "POST", inst.URL+"/api/v1/auth/login", "", map[string]string{"phone": modPhone,
				"code": outboxCode(t, inst.Data, modPhone), "accept_policy_version": pol.Version}, &mod); st != 200 {
				t.Fatalf("moderator login: %d", st)
			}

			const cLat, cLng = 34.7466, 113.6254
			person := func(phone string, lat, lng float64) string {
				lo := signUp(t, inst, phone)
				if st := call(t, "PUT", inst.URL+"/api/v1/consents/seeking_alert_location", lo.Token, nil, nil); st != 204 {
					t.Fatalf("consent: %d", st)
				}
				if st := call(t, "PUT", inst.URL+"/api/v1/me/location", lo.Token, map[string]any{"lat": lat, "lng": lng}, nil); st != 200 {
					t.Fatalf("location: %d", st)
				}
				return lo.Token
			}
			var intended, others []string
			for i := range 24 {
				intended = append(intended, person(fmt.Sprintf("+86137%08d", i), cLat+float64(i%5)*0.1, cLng+float64(i/5)*0.1))
			}
			others = append(others, person("+8613500000001", cLat+3, cLng)) // about 330 km away
			// P23: no location consent, so no position and no alert.
			others = append(others, signUp(t, inst, "+8613500000002").Token)

			body := map[string]any{
				"category": "child",
				"person":   map[string]any{"full_name": "王小明", "sex": "male", "age": 7},
				"last_seen": map[string]any{"at": time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339),
					"lat": cLat, "lng": cLng, "place_name": "人民公园"},
				"private": map[string]any{"relationship": "father", "contact_phone": "13712345678"},
			}
			var c struct {
				ID string `json:"id"`
			}
			if st := call(t, "POST", inst.URL+"/api/v1/cases", rep.Token, body, &c); st != 201 {
				t.Fatalf("create case: %d", st)
			}
			if st := call(t, "POST", inst.URL+"/api/v1/cases/"+c.ID+"/submit", rep.Token, nil, nil); st != 200 {
				t.Fatalf("submit: %d", st)
			}
			if st := call(t, "POST", inst.URL+"/api/v1/review/cases/"+c.ID+"/approve", mod.Token, nil, nil); st != 200 {
				t.Fatalf("approve: %d", st)
			}
			// Kill as soon as the first alerts are delivered.
			deadline := time.Now().Add(30 * time.Second)
			for countAlerts(t, db, c.ID) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no alert was delivered within 30 s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			before := countAlerts(t, db, c.ID)
			t.Logf("killed with %d of %d alerts delivered", before, len(intended))

			inst, _ = startProcessWith(t, tg.DataDir, tg.DSN, extra...)
			start := time.Now()
			for countAlerts(t, db, c.ID) < len(intended) {
				// A batch in a killed worker's hands comes back after the
				// queue's ack wait (30 s).
				if time.Since(start) > 90*time.Second {
					t.Fatalf("after the restart only %d of %d alerts arrived within 90 s", countAlerts(t, db, c.ID), len(intended))
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("every alert delivered %.1f s after the restart", time.Since(start).Seconds())
			for i, tok := range intended {
				if n := alertsInInbox(t, inst, tok, c.ID); n != 1 {
					t.Errorf("intended recipient %d has %d alerts about the case, want exactly 1", i, n)
				}
			}
			for i, tok := range others {
				if n := alertsInInbox(t, inst, tok, c.ID); n != 0 {
					t.Errorf("person %d outside the ring or without consent has %d alerts", i, n)
				}
			}
			if n := countAlerts(t, db, c.ID); n != len(intended) {
				t.Errorf("%d alerts about the case in the database, want %d", n, len(intended))
			}
		})
	}
}
