package yuncan

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Cursor is a place in a list ordered by a time and then an id (tickets,
// incidents, the sharing ledger): the last item of a page. Clients see it
// only encoded, as an opaque string.
type Cursor struct {
	At time.Time
	ID string
}

// Encode is base64 of "<unix nanoseconds>.<id>".
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixNano(), 10) + "." + c.ID))
}

// DecodeCursor reads what Encode wrote: the zero Cursor for "", Invalid
// on the cursor field for anything a list did not give.
func DecodeCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := FieldError("cursor", "is not a cursor this list gave")
	if len(s) > 200 {
		return Cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	ns, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n <= 0 {
		return Cursor{}, bad
	}
	if _, err := uuid.Parse(id); err != nil {
		return Cursor{}, bad
	}
	return Cursor{At: time.Unix(0, n).UTC(), ID: id}, nil
}

// Page sizes of the cursor lists.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// PageLimit checks a page size: DefaultPageLimit for 0, Invalid on the
// limit field outside 1 to MaxPageLimit.
func PageLimit(limit int) (int, error) {
	if limit == 0 {
		return DefaultPageLimit, nil
	}
	if limit < 1 || limit > MaxPageLimit {
		return 0, FieldError("limit", "must be 1 to 100")
	}
	return limit, nil
}
