package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets a test start this test binary as the yuncan process
// (YUNCAN_TEST_RUN_ARGS holds run's arguments as JSON), so that crash
// tests can kill a real process without building another binary.
func TestMain(m *testing.M) {
	if js := os.Getenv("YUNCAN_TEST_RUN_ARGS"); js != "" {
		var args []string
		if err := json.Unmarshal([]byte(js), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := run(context.Background(), args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "yuncan:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// instance is a running yuncan started by run() in this process.
type instance struct {
	t    testing.TB
	URL  string
	Data string
	logs *syncBuffer
	stop func()
}

// syncBuffer collects log output safely across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs `yuncan serve` on a free port with JSON logs; extra args are
// appended. It stops when the test ends.
func start(t testing.TB, data, dsn string, extra ...string) *instance {
	t.Helper()
	logs := &syncBuffer{}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--db", dsn, "--log-format", "json", "--log-level", "debug"}, extra...)
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.MultiWriter(pw, logs))
		pw.Close()
		done <- err
	}()
	addr := waitListening(t, pr)
	go io.Copy(io.Discard, pr)
	inst := &instance{t: t, URL: "http://" + addr, Data: data, logs: logs}
	var once sync.Once
	inst.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("serve did not stop within 20 s of cancel")
			}
		})
	}
	t.Cleanup(inst.stop)
	return inst
}

// waitListening reads JSON log lines until the "listening" line and
// returns its address.
func waitListening(t testing.TB, r io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				found <- line.Addr
				return
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatal("yuncan exited before listening")
		}
		return addr
	case <-time.After(60 * time.Second):
		t.Fatal("yuncan did not start listening within 60 s")
	}
	return ""
}

// call sends a JSON request and decodes the JSON answer into out (when
// non-nil); it returns the status.
func call(t testing.TB, method, url, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// outboxCode returns the newest code the SMS outbox holds for phone.
func outboxCode(t testing.TB, data, phone string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "outbox", "sms.jsonl"))
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	code := ""
	for _, l := range bytes.Split(b, []byte("\n")) {
		var m struct{ To, Code string }
		if json.Unmarshal(l, &m) == nil && m.To == phone {
			code = m.Code
		}
	}
	if code == "" {
		t.Fatalf("no code for %s in the outbox", phone)
	}
	return code
}

type loginOut struct {
	Token string `json:"token"`
	User  struct {
		ID       string `json:"id"`
		Nickname string `json:"nickname"`
	} `json:"user"`
}

// signUp creates an account for phone (E.164) by code and returns the
// login answer.
func signUp(t testing.TB, inst *instance, phone string) loginOut {
	t.Helper()
	var pol struct{ Version string }
	if st := call(t, "GET", inst.URL+"/api/v1/privacy/policy", "", nil, &pol); st != 200 {
		t.Fatalf("policy: %d", st)
	}
	if st := call(t, "POST", inst.URL+"/api/v1/auth/sms-codes", "", map[string]string{"phone": phone}, nil); st != 202 {
		t.Fatalf("sms-codes: %d", st)
	}
	var out loginOut
	st := call(t, "POST", inst.URL+"/api/v1/auth/login", "", map[string]string{
		"phone": phone, "code": outboxCode(t, inst.Data, phone), "accept_policy_version": pol.Version, "age_band": "adult"}, &out)
	if st != 200 || out.Token == "" {
		t.Fatalf("login: %d %+v", st, out)
	}
	return out
}

// httpClient bounds requests to a process that may be killed.
var httpClient = &http.Client{Timeout: 10 * time.Second}
