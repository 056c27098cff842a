// Package keyring encrypts sensitive fields at rest (AES-256-GCM under a
// key id) and computes keyed blind indexes (HMAC-SHA256) so that encrypted
// values can still be looked up by equality.
//
// The key file is JSON, mode 0600, generated on first start when absent:
//
//	{"active":"k1","keys":{"k1":"<base64 32 bytes>"},"index_key":"<base64 32 bytes>"}
//
// Rotation adds a key and makes it active; values sealed under older keys
// stay readable until they are re-encrypted. The index key is not rotated:
// blind indexes must stay stable for lookups.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnknownKey is returned when a sealed value names a key id the ring
// does not hold.
var ErrUnknownKey = errors.New("keyring: unknown key id")

// Keyring holds the data keys and the index key.
type Keyring struct {
	mu       sync.RWMutex
	active   string
	aeads    map[string]cipher.AEAD
	raw      map[string][]byte
	indexKey []byte
	path     string
	// reloadedAt is when Seal last read the key file (Unix nanoseconds),
	// so that a serving process adopts a key another process (rotate-keys)
	// made active. Atomic: Seal checks it without taking the lock.
	reloadedAt atomic.Int64
}

// reloadEvery is how often Seal re-reads the key file: after rotate-keys,
// running servers seal under the new key within this time.
const reloadEvery = 10 * time.Second

type file struct {
	Active   string            `json:"active"`
	Keys     map[string]string `json:"keys"`
	IndexKey string            `json:"index_key"`
}

// Load reads the key file at path, creating it (and its folder, mode 0700)
// with fresh random keys when it does not exist.
func Load(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := generate()
		if err != nil {
			return nil, err
		}
		k.path = path
		if err := k.save(); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: read %s: %w", path, err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keyring: parse %s: %w", path, err)
	}
	k := &Keyring{active: f.Active, aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}, path: path}
	for id, enc := range f.Keys {
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("keyring: key %q in %s is not 32 base64 bytes", id, path)
		}
		if err := k.add(id, raw); err != nil {
			return nil, err
		}
	}
	if _, ok := k.aeads[k.active]; !ok {
		return nil, fmt.Errorf("keyring: active key %q missing from %s", k.active, path)
	}
	k.indexKey, err = base64.StdEncoding.DecodeString(f.IndexKey)
	if err != nil || len(k.indexKey) != 32 {
		return nil, fmt.Errorf("keyring: index key in %s is not 32 base64 bytes", path)
	}
	return k, nil
}

// New returns an in-memory keyring with fresh keys, for tests and tools.
func New() (*Keyring, error) { return generate() }

func generate() (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	if err := k.add("k1", random(32)); err != nil {
		return nil, err
	}
	k.active = "k1"
	k.indexKey = random(32)
	return k, nil
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	return b
}

func (k *Keyring) add(id string, raw []byte) error {
	if id == "" || strings.ContainsAny(id, ":") {
		return fmt.Errorf("keyring: bad key id %q", id)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.aeads[id] = aead
	k.raw[id] = raw
	return nil
}

func (k *Keyring) save() error {
	if k.path == "" {
		return nil
	}
	f := file{Active: k.active, Keys: map[string]string{}, IndexKey: base64.StdEncoding.EncodeToString(k.indexKey)}
	for id, raw := range k.raw {
		f.Keys[id] = base64.StdEncoding.EncodeToString(raw)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("keyring: write key file: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, k.path); err != nil {
		return fmt.Errorf("keyring: write key file: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("keyring: sync %s: %w", path, err)
	}
	return nil
}

// reload merges the keys in the key file into the ring and adopts the
// file's active key; failures leave the ring as it was.
func (k *Keyring) reload() {
	if k.path == "" {
		return
	}
	fresh, err := Load(k.path)
	if err != nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, raw := range fresh.raw {
		if k.aeads[id] == nil {
			k.add(id, raw)
		}
	}
	k.active = fresh.active
}

// reloadIfDue re-reads the key file when the last read is older than
// reloadEvery; only one caller at a time does.
func (k *Keyring) reloadIfDue() {
	if k.path == "" {
		return
	}
	now := time.Now().UnixNano()
	last := k.reloadedAt.Load()
	if now-last >= int64(reloadEvery) && k.reloadedAt.CompareAndSwap(last, now) {
		k.reload()
	}
}

// ActiveKeyID is the id new values are sealed under.
func (k *Keyring) ActiveKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// KeyIDs lists the ids the ring holds, sorted.
func (k *Keyring) KeyIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Rotate adds a fresh data key, makes it active and saves the key file.
// Callers then re-encrypt stored values (see NeedsReseal).
func (k *Keyring) Rotate() (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := fmt.Sprintf("k%d", len(k.aeads)+1)
	for k.aeads[id] != nil {
		id += "x"
	}
	if err := k.add(id, random(32)); err != nil {
		return "", err
	}
	prev := k.active
	k.active = id
	if err := k.save(); err != nil {
		k.active = prev
		delete(k.aeads, id)
		delete(k.raw, id)
		return "", err
	}
	return id, nil
}

// Seal encrypts plaintext under the active key. context names where the
// value lives (for example "users.phone") and is bound as additional data,
// so a ciphertext moved to another column fails to open. The result is
// "<key id>:<base64(nonce|ciphertext)>".
func (k *Keyring) Seal(context string, plaintext []byte) string {
	k.reloadIfDue()
	k.mu.RLock()
	id, aead := k.active, k.aeads[k.active]
	k.mu.RUnlock()
	nonce := random(aead.NonceSize())
	out := aead.Seal(nonce, nonce, plaintext, []byte(context))
	return id + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same context.
func (k *Keyring) Open(context, sealed string) ([]byte, error) {
	id, enc, ok := strings.Cut(sealed, ":")
	if !ok {
		return nil, errors.New("keyring: malformed sealed value")
	}
	k.mu.RLock()
	aead := k.aeads[id]
	k.mu.RUnlock()
	if aead == nil {
		// Another process (yuncan admin rotate-keys) may have added the
		// key: pick up the file's keys and try once more.
		k.reload()
		k.mu.RLock()
		aead = k.aeads[id]
		k.mu.RUnlock()
	}
	if aead == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	b, err := base64.RawStdEncoding.DecodeString(enc)
	if err != nil || len(b) < aead.NonceSize() {
		return nil, errors.New("keyring: malformed sealed value")
	}
	pt, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("keyring: open %s: %w", context, err)
	}
	return pt, nil
}

// NeedsReseal reports whether sealed was made under a key other than the
// active one.
func (k *Keyring) NeedsReseal(sealed string) bool {
	id, _, _ := strings.Cut(sealed, ":")
	return id != k.ActiveKeyID()
}

// BlindIndex returns a keyed HMAC-SHA256 of value in the given domain, hex
// encoded: equal values give equal indexes, and without the index key the
// index reveals nothing (a phone number cannot be found by trying numbers).
func (k *Keyring) BlindIndex(domain, value string) string {
	m := hmac.New(sha256.New, k.indexKey)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// MAC returns a keyed HMAC-SHA256 of the parts, for short secrets such as
// one-time codes that must not be stored as themselves.
func (k *Keyring) MAC(parts ...string) []byte {
	m := hmac.New(sha256.New, k.indexKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}
