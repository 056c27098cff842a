package rights_test

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func wantCode(t *testing.T, what string, err error, code yuncan.Code) {
	t.Helper()
	if got := yuncan.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v, want code %q", what, err, code)
	}
}

// P65 (PIPL Art. 45): request → build → ready → link → the link expires
// → the archive is deleted after its week; one request a week.
func TestExportLifecycle(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, storetest.Target{Name: "sqlite", DataDir: t.TempDir()})
	keys, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	ms := media.NewFileStore(filepath.Join(t.TempDir(), "media"))
	if err := ms.Put(ctx, "avatars/u-1.jpg", []byte("avatar-bytes-of-u-1")); err != nil {
		t.Fatal(err)
	}
	for _, u := range [][3]string{{"u-1", "+8613800000001", "avatars/u-1.jpg"}, {"u-2", "+8613900000002", ""}} {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO users (id, phone_sealed, phone_index, role, nickname, avatar_key, created_at, updated_at)
			VALUES (?, ?, ?, 'user', ?, ?, 1, 1)`, u[0], keys.Seal("users.phone", []byte(u[1])), "idx-"+u[0], "nick-"+u[0], u[2]); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	dir := filepath.Join(t.TempDir(), "exports")
	s := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext, Media: ms, Dir: dir, Now: clk.now}, rights.Config{})

	x, err := s.RequestExport(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != rights.StatusQueued {
		t.Fatalf("status %s", x.Status)
	}
	clk.add(time.Hour)
	_, err = s.RequestExport(ctx, "u-1")
	wantCode(t, "second request in the week", err, yuncan.RateLimited)
	if ra := yuncan.AsError(err).RetryAfter; ra != 7*24*time.Hour-time.Hour {
		t.Errorf("RetryAfter = %v", ra)
	}
	_, _, err = s.Link(ctx, "u-1", x.ID)
	wantCode(t, "link before ready", err, yuncan.Conflict)

	if err := s.BuildExports(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := s.Exports(ctx, "u-1")
	if err != nil || len(list) != 1 || list[0].Status != rights.StatusReady || list[0].Progress != 100 {
		t.Fatalf("after build: %+v, %v", list, err)
	}
	info, err := os.Stat(filepath.Join(dir, x.ID+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v", info.Mode().Perm())
	}

	// Someone else's export, a wrong token: not found.
	_, _, err = s.Link(ctx, "u-2", x.ID)
	wantCode(t, "link to another's export", err, yuncan.NotFound)
	token, _, err := s.Link(ctx, "u-1", x.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Open(ctx, "u-1", x.ID, token+"x")
	wantCode(t, "wrong token", err, yuncan.NotFound)
	_, _, err = s.Open(ctx, "u-2", x.ID, token)
	wantCode(t, "another's token", err, yuncan.NotFound)
	f, _, err := s.Open(ctx, "u-1", x.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	files := unzip(t, f)
	f.Close()
	for name, want := range map[string]string{"data/users.json": "+8613800000001", "media/avatars/u-1.jpg": "avatar-bytes-of-u-1", "README.md": "PIPL Art. 45"} {
		if !strings.Contains(files[name], want) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
	for name, body := range files {
		if strings.Contains(body, "+8613900000002") || strings.Contains(body, "nick-u-2") {
			t.Errorf("%s holds another person's data", name)
		}
	}

	// The link works for 24 hours.
	clk.add(24 * time.Hour)
	_, _, err = s.Open(ctx, "u-1", x.ID, token)
	wantCode(t, "expired link", err, yuncan.NotFound)

	// Seven days after it was ready the job deletes the archive; a new
	// request is accepted again.
	clk.add(6 * 24 * time.Hour)
	if err := s.BuildExports(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, x.ID+".zip")); !os.IsNotExist(err) {
		t.Errorf("archive still there: %v", err)
	}
	list, _ = s.Exports(ctx, "u-1")
	if list[0].Status != rights.StatusExpired {
		t.Errorf("status after the week %s", list[0].Status)
	}
	_, _, err = s.Link(ctx, "u-1", x.ID)
	wantCode(t, "link to an expired export", err, yuncan.Conflict)
	if _, err := s.RequestExport(ctx, "u-1"); err != nil {
		t.Errorf("request after the week: %v", err)
	}
}

// A build that crashed (building, lease over) is built by the next run.
func TestExportRestartsAfterCrash(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, storetest.Target{Name: "sqlite", DataDir: t.TempDir()})
	keys, _ := keyring.New()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO users (id, phone_sealed, phone_index, role, nickname, created_at, updated_at)
		VALUES ('u-1', ?, 'idx', 'user', 'n', 1, 1)`, keys.Seal("users.phone", []byte("+8613800000001"))); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	s := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext, Dir: t.TempDir(), Now: clk.now}, rights.Config{})
	x, err := s.RequestExport(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	// The crash: claimed, never finished.
	if _, err := db.Rights().ClaimExport(ctx, clk.t, clk.t.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.BuildExports(ctx); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Exports(ctx, "u-1"); l[0].Status != rights.StatusBuilding {
		t.Fatalf("built while the lease runs: %s", l[0].Status)
	}
	clk.add(11 * time.Minute)
	if err := s.BuildExports(ctx); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Exports(ctx, "u-1"); l[0].ID != x.ID || l[0].Status != rights.StatusReady {
		t.Fatalf("after the lease: %+v", l[0])
	}
}

func unzip(t *testing.T, f *os.File) map[string]string {
	t.Helper()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[zf.Name] = string(b)
	}
	return out
}
