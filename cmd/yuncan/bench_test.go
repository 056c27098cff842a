package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/geo"
)

// benchRun runs `yuncan bench alerts` with args and decodes its report.
func benchRun(t *testing.T, args ...string) (map[string]any, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"bench", "alerts"}, args...), noEnv, nil, &out, &errOut)
	if err != nil {
		return nil, err
	}
	var rep map[string]any
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("bench alerts printed no JSON object: %v\n%s", err, out.String())
	}
	if dec.More() {
		t.Fatal("bench alerts printed more than one JSON object")
	}
	return rep, nil
}

func TestBenchAlerts(t *testing.T) {
	rep, err := benchRun(t, "--users", "3000", "--seed", "7", "--runs", "3", "--radius-km", "300")
	if err != nil {
		t.Fatal(err)
	}
	if rep["users"] != 3000.0 || rep["recipients"] != rep["exact"] || rep["recipients"].(float64) < 1 {
		t.Errorf("users %v, recipients %v, exact %v", rep["users"], rep["recipients"], rep["exact"])
	}
	for _, k := range []string{"select_ms", "index_bytes_per_user", "updates_per_sec", "batch_updates_per_sec"} {
		if v, ok := rep[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v", k, rep[k])
		}
	}
	if runs, _ := rep["select_ms_runs"].([]any); len(runs) != 3 {
		t.Errorf("select_ms_runs = %v", rep["select_ms_runs"])
	}
	for _, k := range []string{"fanout_ms", "fanout_recipients", "redis_ms", "speedup_vs_redis"} {
		if v, ok := rep[k]; !ok || v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
	}
}

// --fanout enqueues every recipient of the ring on an embedded JetStream
// and records the ring on SQLite, in a temporary folder.
func TestBenchAlertsFanout(t *testing.T) {
	rep, err := benchRun(t, "--users", "3000", "--seed", "7", "--runs", "1", "--radius-km", "300", "--fanout")
	if err != nil {
		t.Fatal(err)
	}
	if rep["fanout_recipients"] != rep["recipients"] || rep["recipients"].(float64) < 1 {
		t.Errorf("fanout_recipients %v, recipients %v", rep["fanout_recipients"], rep["recipients"])
	}
	for _, k := range []string{"fanout_ms", "fanout_with_select_ms", "fanout_batches"} {
		if v, ok := rep[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v", k, rep[k])
		}
	}
}

func TestBenchAlertsPopulationFile(t *testing.T) {
	pts := append(geo.Generate(500, 1),
		geo.Point{ID: 900, Lat: 89.9, Lng: 179.9}, geo.Point{ID: 901, Lat: -89.9, Lng: -179.9})
	file := filepath.Join(t.TempDir(), "pop.csv")
	var buf bytes.Buffer
	if err := geo.WriteCSV(&buf, pts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := benchRun(t, "--population", file, "--runs", "1", "--lat", "90", "--lng", "0", "--radius-km", "20000")
	if err != nil {
		t.Fatal(err)
	}
	if rep["users"] != 502.0 || rep["recipients"] != rep["exact"] {
		t.Errorf("users %v, recipients %v, exact %v", rep["users"], rep["recipients"], rep["exact"])
	}
}

func TestBenchAlertsRedis(t *testing.T) {
	addr := os.Getenv("YUNCAN_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("set YUNCAN_TEST_REDIS_ADDR to compare with Redis")
	}
	rep, err := benchRun(t, "--users", "2000", "--runs", "1", "--redis", addr)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := rep["redis_recipients"].(float64); !ok || n < 1 {
		t.Errorf("redis_recipients = %v", rep["redis_recipients"])
	}
}

func TestBenchAlertsRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,lat,lng\n1,2,3\n2,95,3\n"), 0o600)
	dup := filepath.Join(dir, "dup.csv")
	os.WriteFile(dup, []byte("1,2,3\n1,4,5\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "alerts"},
		{[]string{"bench", "nope"}, "alerts"},
		{[]string{"bench", "alerts", "--radius-km", "-1"}, "radius"},
		{[]string{"bench", "alerts", "--radius-km", "20001"}, "radius"},
		{[]string{"bench", "alerts", "--lat", "91"}, "lat"},
		{[]string{"bench", "alerts", "--users", "0"}, "users"},
		{[]string{"bench", "alerts", "--runs", "0"}, "runs"},
		{[]string{"bench", "alerts", "--fanout", "--radius-km", "0"}, "--fanout needs --radius-km more than 0"},
		{[]string{"bench", "alerts", "--population", filepath.Join(dir, "missing.csv")}, "missing.csv"},
		{[]string{"bench", "alerts", "--population", bad}, "line 3"},
		{[]string{"bench", "alerts", "--population", dup}, "twice"},
		{[]string{"bench", "alerts", "--population", bad, "--users", "5"}, "not both"},
		{[]string{"bench", "alerts", "extra"}, "extra"},
	} {
		err := run(context.Background(), tc.args, noEnv, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}
