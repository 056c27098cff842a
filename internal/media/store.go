package media

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
)

// Store keeps media blobs under opaque keys such as "avatars/<id>.jpg".
// A key is 1 to 255 characters of [a-z0-9/_.-], made of non-empty
// slash-separated parts none of which starts with a dot; every method
// returns an Invalid error for any other key.
type Store interface {
	// Put stores data under key, replacing any blob there. It is atomic:
	// a reader sees the old blob or the new one, never part of either,
	// and once Put returns the blob survives a crash.
	Put(ctx context.Context, key string, data []byte) error
	// Open returns the blob under key and when it was last written. It
	// returns a NotFound error when there is none. The caller closes it.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, time.Time, error)
	// Delete removes the blob under key. Deleting an absent blob is not
	// an error.
	Delete(ctx context.Context, key string) error
}

// maxKey bounds a key so that it fits a file name on any file system.
const maxKey = 255

// checkKey returns an Invalid error unless key is a well-formed key.
func checkKey(key string) error {
	bad := func(problem string) error {
		return yuncan.Errorf(yuncan.Invalid, "media key %q: %s", key, problem).WithReason("invalid_media_key")
	}
	if key == "" || len(key) > maxKey {
		return bad("must be 1 to 255 characters")
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("/_.-", c)) {
			return bad("only a-z, 0-9 and / _ . - are allowed")
		}
	}
	// Parts starting with a dot would be ".", "..", or clash with the
	// store's own temporary files.
	for part := range strings.SplitSeq(key, "/") {
		if part == "" || part[0] == '.' {
			return bad("parts must be non-empty and must not start with a dot")
		}
	}
	return nil
}
