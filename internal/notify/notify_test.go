package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestOutboxConcurrentSends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox", "sms.jsonl")
	o := NewOutbox(path, nil)
	const n = 50
	body := fmt.Sprintf("%0500d", 0) // long enough to tear if writes interleaved
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := Message{To: fmt.Sprintf("+86138%08d", i), Body: body, Code: fmt.Sprintf("%06d", i)}
			if err := o.Send(context.Background(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct{ At, To, Body, Code string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, line.At); err != nil {
			t.Errorf("at %q: %v", line.At, err)
		}
		if line.Body != body || line.To == "" || line.Code == "" || line.To[len(line.To)-6:] != line.Code[:6] {
			t.Errorf("line mixed up: %+v", line)
		}
		seen[line.Code] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Errorf("%d distinct lines, want %d", len(seen), n)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}

func TestOutboxFields(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	o := NewOutbox(filepath.Join(t.TempDir(), "email.jsonl"), func() time.Time { return at })
	if err := o.Send(context.Background(), Message{To: "a@example.org", Subject: "s", Body: "b", Code: "123456"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(o.Path())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"at":"2026-03-01T00:00:00Z","to":"a@example.org","subject":"s","body":"b","code":"123456"}` + "\n"
	if string(data) != want {
		t.Errorf("got %s want %s", data, want)
	}
}
