package jsonl

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestAppendWritesWholeLinesPrivately(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox", "x.jsonl")
	f := New(path)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := f.Append(map[string]int{"n": i}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var v struct{ N int }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		seen[v.N] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct lines, want 50", len(seen))
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, st.Mode().Perm(), err, want)
		}
	}
}

func TestAppendRefusesWhatIsNotJSON(t *testing.T) {
	t.Parallel()
	f := New(filepath.Join(t.TempDir(), "x.jsonl"))
	if err := f.Append(func() {}); err == nil {
		t.Fatal("a func was appended")
	}
	if _, err := os.Stat(f.Path()); !os.IsNotExist(err) {
		t.Errorf("the file exists after a refused append: %v", err)
	}
}
