package keyring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadCreatesFileWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "keyring.json")
	k, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	again, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := k.Seal("users.phone", []byte("+8613800138000"))
	got, err := again.Open("users.phone", s)
	if err != nil || string(got) != "+8613800138000" {
		t.Fatalf("reloaded ring cannot open: %q %v", got, err)
	}
	if k.BlindIndex("phone", "x") != again.BlindIndex("phone", "x") {
		t.Error("blind index changed across reload")
	}
}

func TestSealOpen(t *testing.T) {
	k, _ := New()
	s := k.Seal("users.phone", []byte("secret"))
	if strings.Contains(s, "secret") {
		t.Fatal("sealed value contains plaintext")
	}
	if s2 := k.Seal("users.phone", []byte("secret")); s2 == s {
		t.Error("two seals of one value are equal: nonce reused")
	}
	if _, err := k.Open("users.real_name", s); err == nil {
		t.Error("opened under the wrong context")
	}
	if _, err := k.Open("users.phone", "k9:AAAA"); err == nil {
		t.Error("opened under an unknown key")
	}
	if _, err := k.Open("users.phone", "garbage"); err == nil {
		t.Error("opened garbage")
	}
	tampered := s[:len(s)-2] + "AA"
	if _, err := k.Open("users.phone", tampered); err == nil && tampered != s {
		t.Error("opened a tampered value")
	}
}

func TestRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	k, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	old := k.Seal("c", []byte("v"))
	idx := k.BlindIndex("d", "v")
	id, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if id == "k1" || k.ActiveKeyID() != id {
		t.Fatalf("active = %s after rotate to %s", k.ActiveKeyID(), id)
	}
	if !k.NeedsReseal(old) {
		t.Error("old value does not need resealing")
	}
	fresh := k.Seal("c", []byte("v"))
	if k.NeedsReseal(fresh) {
		t.Error("fresh value needs resealing")
	}
	reloaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{old, fresh} {
		if v, err := reloaded.Open("c", s); err != nil || string(v) != "v" {
			t.Errorf("reloaded ring cannot open %s: %v", s, err)
		}
	}
	if reloaded.BlindIndex("d", "v") != idx {
		t.Error("rotation changed the blind index")
	}
}

// A serving process picks up a key that `yuncan admin rotate-keys` added
// to the key file after the process loaded it.
func TestOpenPicksUpRotatedKeyFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	serving, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := admin.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	s := admin.Seal("c", []byte("v"))
	if v, err := serving.Open("c", s); err != nil || string(v) != "v" {
		t.Fatalf("serving ring cannot open a value under the rotated key: %v", err)
	}
	if serving.ActiveKeyID() != id {
		t.Errorf("serving ring did not adopt the rotated key %s", id)
	}
}

// A serving process seals under a key rotate-keys made active in another
// process once its last read of the key file is reloadEvery old.
func TestSealPicksUpRotatedKeyFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	serving, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	serving.Seal("c", []byte("v")) // reads the file now
	admin, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := admin.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if s := serving.Seal("c", []byte("v")); strings.HasPrefix(s, id+":") {
		t.Fatalf("sealed under %s before the file was due to be read again", id)
	}
	serving.mu.Lock()
	serving.reloadedAt.Store(time.Now().Add(-reloadEvery).UnixNano())
	serving.mu.Unlock()
	s := serving.Seal("c", []byte("v"))
	if !strings.HasPrefix(s, id+":") {
		t.Fatalf("serving ring sealed %q, not under the rotated key %s", s[:3], id)
	}
	if v, err := admin.Open("c", s); err != nil || string(v) != "v" {
		t.Fatalf("open: %q %v", v, err)
	}
}
