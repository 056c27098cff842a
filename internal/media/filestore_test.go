package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
)

func readKey(tb testing.TB, s Store, key string) []byte {
	tb.Helper()
	rc, _, err := s.Open(context.Background(), key)
	if err != nil {
		tb.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "media")
	s := NewFileStore(dir)
	before := time.Now().Add(-time.Second)

	if err := s.Put(ctx, "avatars/u1.jpg", []byte("pixels")); err != nil {
		t.Fatal(err)
	}
	rc, mod, err := s.Open(ctx, "avatars/u1.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if mod.Before(before) || mod.After(time.Now().Add(time.Second)) {
		t.Errorf("modified %v, want about now", mod)
	}
	if _, err := rc.Seek(2, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); string(b) != "xels" {
		t.Errorf("after seek read %q", b)
	}

	for name, want := range map[string]os.FileMode{
		dir:                                     0o700,
		filepath.Join(dir, "avatars"):           0o700,
		filepath.Join(dir, "avatars", "u1.jpg"): 0o600,
	} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", name, got, want)
		}
	}
}

func TestFileStoreOverwrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := NewFileStore(dir)
	if err := s.Put(ctx, "a/b/c.png", []byte("old")); err != nil {
		t.Fatal(err)
	}
	// A reader that opened the old blob keeps reading all of it.
	old, _, err := s.Open(ctx, "a/b/c.png")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := s.Put(ctx, "a/b/c.png", []byte("new and longer")); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(old); string(b) != "old" {
		t.Errorf("old reader got %q", b)
	}
	if b := readKey(t, s, "a/b/c.png"); string(b) != "new and longer" {
		t.Errorf("got %q", b)
	}

	// Concurrent writers: the result is one whole blob, and no
	// temporary file is left behind.
	blobs := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range blobs {
		blobs[i] = bytes.Repeat([]byte{byte('a' + i)}, 64<<10)
		wg.Go(func() {
			if err := s.Put(ctx, "a/b/c.png", blobs[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := readKey(t, s, "a/b/c.png")
	whole := false
	for _, b := range blobs {
		whole = whole || bytes.Equal(got, b)
	}
	if !whole {
		t.Errorf("blob is a mix of writes (%d bytes)", len(got))
	}
	entries, err := os.ReadDir(filepath.Join(dir, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only c.png", entries)
	}
}

func TestFileStoreDelete(t *testing.T) {
	ctx := context.Background()
	s := NewFileStore(filepath.Join(t.TempDir(), "not-yet"))
	// Nothing exists, not even the directory.
	if err := s.Delete(ctx, "avatars/u1.jpg"); err != nil {
		t.Fatalf("delete before any put: %v", err)
	}
	if _, _, err := s.Open(ctx, "avatars/u1.jpg"); yuncan.ErrorCode(err) != yuncan.NotFound {
		t.Fatalf("open before any put: %v", err)
	}
	if err := s.Put(ctx, "avatars/u1.jpg", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "avatars/u1.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, "avatars/u1.jpg"); yuncan.ErrorCode(err) != yuncan.NotFound {
		t.Errorf("open after delete: %v", err)
	}
	if err := s.Delete(ctx, "avatars/u1.jpg"); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func TestFileStoreNotFound(t *testing.T) {
	ctx := context.Background()
	s := NewFileStore(t.TempDir())
	if err := s.Put(ctx, "avatars/u1.jpg", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"avatars/u2.jpg", "avatars", "avatars/u1.jpg/x", "photos/p.jpg"} {
		if _, _, err := s.Open(ctx, key); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("open %s: got %v, want not_found", key, err)
		}
	}
	if err := s.Delete(ctx, "avatars"); err != nil {
		t.Errorf("delete of a directory key: %v", err)
	}
	if b := readKey(t, s, "avatars/u1.jpg"); string(b) != "x" {
		t.Errorf("blob changed: %q", b)
	}
}

func TestFileStoreBadKeys(t *testing.T) {
	ctx := context.Background()
	s := NewFileStore(t.TempDir())
	keys := []string{
		"", "/etc/passwd", "../x.jpg", "a/../../x.jpg", "a/./b.jpg", "..", ".",
		"a//b.jpg", "a/", "Avatars/x.jpg", "a\\b.jpg", "a b.jpg", "a\x00b",
		".tmp-x", "a/.hidden", "é.jpg", strings.Repeat("a", 256),
	}
	for _, key := range keys {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			errs := map[string]error{
				"put":    s.Put(ctx, key, []byte("x")),
				"delete": s.Delete(ctx, key),
			}
			_, _, errs["open"] = s.Open(ctx, key)
			for op, err := range errs {
				if yuncan.ErrorCode(err) != yuncan.Invalid {
					t.Errorf("%s: got %v, want invalid", op, err)
				}
			}
		})
	}
	if err := s.Put(ctx, strings.Repeat("a", 255), nil); err != nil {
		t.Errorf("255-character key: %v", err)
	}
}

func TestFileStoreSymlinkEscape(t *testing.T) {
	ctx := context.Background()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.jpg"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "avatars")); err != nil {
		t.Skip(err)
	}
	s := NewFileStore(dir)
	if rc, _, err := s.Open(ctx, "avatars/secret.jpg"); err == nil {
		rc.Close()
		t.Error("opened a file outside the store")
	}
	if err := s.Put(ctx, "avatars/new.jpg", []byte("x")); err == nil {
		t.Error("wrote a file outside the store")
	}
	s.Delete(ctx, "avatars/secret.jpg")
	if _, err := os.Stat(filepath.Join(outside, "secret.jpg")); err != nil {
		t.Errorf("file outside the store: %v", err)
	}
}

func TestFileStoreCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewFileStore(t.TempDir())
	if err := s.Put(ctx, "a.jpg", []byte("x")); err == nil {
		t.Error("put with a cancelled context succeeded")
	}
}
