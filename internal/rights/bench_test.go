package rights_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// The export benchmark of issue 5: one account with 10,000 "posts" and
// 100,000 interactions, on both databases, timing BuildExports and
// sampling the peak heap. Posts do not exist in the product yet: the
// 10,000 are clues the person sent (text, place and point sealed, as
// the seeking area stores them) on 100 cases of another reporter; the
// 100,000 interactions are 70,000 notifications in the person's inbox and
// 30,000 consent events. docs/benchmarks.md records the figures:
//
//	go test ./internal/rights -run '^$' -bench BenchmarkExport -benchtime 3x -benchmem
//
// PostgreSQL runs when YUNCAN_TEST_POSTGRES_DSN is set; without it that
// half is skipped.
const (
	benchClues         = 10_000
	benchNotifications = 70_000
	benchConsents      = 30_000
	benchCases         = 100
)

func BenchmarkExport(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchExport(b, "") })
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv(storetest.PostgresEnv)
		if dsn == "" {
			b.Skip(storetest.PostgresEnv + " is not set")
		}
		benchExport(b, dsn)
	})
}

// benchExport seeds a fresh database (SQLite when dsn is "", else a new
// schema of dsn's PostgreSQL) and times the exports. Each run of a
// sub-benchmark (-count) gets its own.
func benchExport(b *testing.B, dsn string) {
	tg := storetest.Target{Name: "sqlite", DataDir: b.TempDir()}
	if dsn != "" {
		tg = storetest.Target{Name: "postgres", DSN: storetest.FreshPostgres(b, dsn), DataDir: b.TempDir()}
	}
	ctx := context.Background()
	db := storetest.Open(b, tg)
	keys, err := keyring.New()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seedBenchAccount(b, db, keys)
	b.Logf("%s: seeded %d clues, %d notifications, %d consent events in %v", tg.Name, benchClues, benchNotifications, benchConsents,
		time.Since(start).Round(time.Millisecond))

	// A fake clock a week and a day further on for each request: one
	// export a week is the rule.
	clk := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	dir := filepath.Join(b.TempDir(), "exports")
	s := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext, Dir: dir, Now: clk.now}, rights.Config{})

	var peak uint64
	var size int64
	var last string
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	for b.Loop() {
		clk.add(8 * 24 * time.Hour)
		x, err := s.RequestExport(ctx, "bench-person")
		if err != nil {
			b.Fatal(err)
		}
		stop := sampleHeap(&peak)
		err = s.BuildExports(ctx)
		stop()
		if err != nil {
			b.Fatal(err)
		}
		list, err := s.Exports(ctx, "bench-person")
		if err != nil || len(list) == 0 || list[0].ID != x.ID || list[0].Status != rights.StatusReady {
			b.Fatalf("after the build: %+v, %v", list, err)
		}
		size, last = list[0].SizeBytes, x.ID
	}
	checkBenchArchive(b, filepath.Join(dir, last+".zip"))
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64(size)/(1<<20), "archive-MiB")
}

// sampleHeap records the largest HeapInuse into *peak every 5 ms until
// the returned func is called (which takes one last sample).
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		if m.HeapInuse > *peak {
			*peak = m.HeapInuse
		}
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		sample()
	}
}

// seedBenchAccount writes the person (bench-person), a reporter with the
// cases, the clues, the notifications and the consent events, in
// multi-row inserts inside one transaction.
func seedBenchAccount(b *testing.B, db *sqlstore.DB, keys *keyring.Keyring) {
	b.Helper()
	ctx := context.Background()
	seal := func(table, col, plain string) string {
		c, ok := sqlstore.SealContext(table, col)
		if !ok {
			b.Fatalf("%s.%s is not a sealed column", table, col)
		}
		return keys.Seal(c, []byte(plain))
	}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	pg := db.Dialect() == sqlstore.Postgres
	insert := func(table, cols string, rows [][]any) {
		b.Helper()
		n := strings.Count(cols, ",") + 1
		const batch = 400
		for i := 0; i < len(rows); i += batch {
			chunk := rows[i:min(i+batch, len(rows))]
			var q strings.Builder
			q.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
			args := make([]any, 0, len(chunk)*n)
			for j, r := range chunk {
				if j > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(")
				for k := range n {
					if k > 0 {
						q.WriteString(", ")
					}
					if pg {
						fmt.Fprintf(&q, "$%d", len(args)+k+1)
					} else {
						q.WriteString("?")
					}
				}
				q.WriteString(")")
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				b.Fatalf("insert into %s: %v", table, err)
			}
		}
	}
	t0 := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC).UnixNano()
	insert("users", "id, phone_sealed, phone_index, role, nickname, created_at, updated_at", [][]any{
		{"bench-person", seal("users", "phone_sealed", "+8613800000001"), "idx-person", "user", "基准测试用户", t0, t0},
		{"bench-reporter", seal("users", "phone_sealed", "+8613800000002"), "idx-reporter", "user", "报告人", t0, t0},
	})
	var cases [][]any
	for i := range benchCases {
		id := fmt.Sprintf("case-%03d", i)
		cases = append(cases, []any{id, "bench-reporter", "published", "child", "王小明", "小明", "王", "[]", "male", "", 7, "杭州", nil, "",
			"红色外套", "", "性格内向", "在公园走失", t0, "西湖公园", seal("cases", "last_seen_point_sealed", "30.259000,120.149000"), 3026, 12015,
			seal("cases", "reporter_relationship_sealed", "父亲"), seal("cases", "reporter_contact_sealed", "+8613700000000"), "", "", 0, "", "",
			t0, t0, t0, t0, 0})
	}
	insert("cases", `id, reporter_id, status, category, full_name, given_name, family_name, alternate_names, sex, date_of_birth, age,
		home_city, height_cm, build, clothing, distinguishing_marks, description, circumstances, last_seen_at, last_seen_place,
		last_seen_point_sealed, area_lat, area_lng, reporter_relationship_sealed, reporter_contact_sealed, police_receipt_sealed,
		verified_by, verified_at, verification_note_sealed, status_reason, created_at, updated_at, submitted_at, published_at, resolved_at`, cases)
	clues := make([][]any, 0, benchClues)
	for i := range benchClues {
		at := t0 + int64(i)*int64(time.Minute)
		clues = append(clues, []any{fmt.Sprintf("clue-%05d", i), fmt.Sprintf("case-%03d", i%benchCases), "bench-person",
			seal("clues", "text_sealed", fmt.Sprintf("第 %d 条线索：在公交站附近看到一个穿红色外套的男孩，大约七岁，和一位老人在一起。", i)), at,
			seal("clues", "point_sealed", "30.260000,120.150000"), seal("clues", "place_name_sealed", "西湖公交站"), "typed", "new", "", 0, "", at})
	}
	insert("clues", `id, case_id, author_id, text_sealed, seen_at, point_sealed, place_name_sealed, point_source, status, reviewed_by,
		reviewed_at, review_note, created_at`, clues)
	notes := make([][]any, 0, benchNotifications)
	for i := range benchNotifications {
		at := t0 + int64(i)*int64(time.Second)
		notes = append(notes, []any{fmt.Sprintf("note-%06d", i), "user", "bench-person", "seeking_alert", fmt.Sprintf("alert-%d", i),
			fmt.Sprintf("case-%03d", i%benchCases), "附近有人走失", "王小明，7 岁，最后出现在西湖公园。请留意。",
			`{"ring":1,"distance_km":3,"link":"/cases/case-000"}`, at, 0, 0, 0})
	}
	insert("notifications", `id, recipient_kind, recipient_id, kind, dedupe_key, case_id, title, body, data, created_at, read_at,
		opened_at, dismissed_at`, notes)
	events := make([][]any, 0, benchConsents)
	purposes := []string{"alert_location", "marketing_sms", "recommendation"}
	for i := range benchConsents {
		action := "grant"
		if i%2 == 1 {
			action = "withdraw"
		}
		events = append(events, []any{fmt.Sprintf("consent-%06d", i), "user", "bench-person", purposes[i%len(purposes)], action,
			"2025-01-01", "web", t0 + int64(i)*int64(time.Second)})
	}
	insert("consent_events", "id, subject_kind, subject_id, purpose, action, policy_version, channel, at", events)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// checkBenchArchive makes sure the archive holds every seeded row: a
// benchmark of an export that left rows out would measure nothing.
func checkBenchArchive(b *testing.B, path string) {
	b.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open("manifest.json")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var m struct {
		Tables []struct {
			Table string `json:"table"`
			Rows  int    `json:"rows"`
		} `json:"tables"`
	}
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		b.Fatal(err)
	}
	rows := map[string]int{}
	for _, t := range m.Tables {
		rows[t.Table] = t.Rows
	}
	if rows["clues"] != benchClues || rows["notifications"] != benchNotifications || rows["consent_events"] != benchConsents || rows["users"] != 1 {
		b.Fatalf("the archive holds %v", rows)
	}
}
