package alert

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/yuncan/yuncan/internal/consent"
)

// Batch kinds.
const (
	batchRing       = "ring"       // alerts of one ring opening
	batchResolution = "resolution" // resolutions of a case
)

// batch is one message of the "alerts" queue: some recipients of a ring,
// or of a resolution. It carries ids, ring numbers and whole kilometres,
// never a position.
type batch struct {
	Kind    string
	AlertID string // ring batches; "" for resolutions
	CaseID  string
	Items   []item
}

// item is one recipient of a batch.
type item struct {
	Subject consent.Subject
	Ring    int // ring batches
	Km      int // ring batches
}

// Limits a decoded batch must respect.
const (
	maxBatchItems = 100_000
	maxIDLen      = 64
)

// The text form of a batch, one line each:
//
//	A1 ring <alert id> <case id>       or   A1 resolution - <case id>
//	u <user id> <ring> <km>                 d <device id>
//
// It is a tenth of the size of JSON and encodes a million recipients in
// well under a second.
const batchMagic = "A1"

func kindLetter(k consent.SubjectKind) byte {
	if k == consent.SubjectDevice {
		return 'd'
	}
	return 'u'
}

// validID accepts the ids batches carry: 1 to 64 bytes without a space or
// a line break (the separators of the text form).
func validID(id string) bool {
	return id != "" && len(id) <= maxIDLen && strings.IndexByte(id, ' ') < 0 && strings.IndexByte(id, '\n') < 0
}

// encode appends the text form of b to dst.
func (b *batch) encode(dst []byte) []byte {
	dst = appendHeader(dst, b.Kind, b.AlertID, b.CaseID)
	for _, it := range b.Items {
		dst = appendItem(dst, b.Kind, it)
	}
	return dst
}

func appendHeader(dst []byte, kind, alertID, caseID string) []byte {
	if alertID == "" {
		alertID = "-"
	}
	dst = append(dst, batchMagic...)
	dst = append(dst, ' ')
	dst = append(dst, kind...)
	dst = append(dst, ' ')
	dst = append(dst, alertID...)
	dst = append(dst, ' ')
	dst = append(dst, caseID...)
	return append(dst, '\n')
}

func appendItem(dst []byte, kind string, it item) []byte {
	dst = append(dst, kindLetter(it.Subject.Kind), ' ')
	dst = append(dst, it.Subject.ID...)
	if kind == batchRing {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(it.Ring), 10)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(it.Km), 10)
	}
	return append(dst, '\n')
}

var errBatch = errors.New("alert: malformed batch")

// decodeBatch parses a batch, refusing anything encode would not write.
func decodeBatch(data []byte) (batch, error) {
	var b batch
	head, rest, ok := bytes.Cut(data, []byte{'\n'})
	if !ok {
		return b, fmt.Errorf("%w: no header", errBatch)
	}
	f := strings.Split(string(head), " ")
	if len(f) != 4 || f[0] != batchMagic || (f[1] != batchRing && f[1] != batchResolution) || !validID(f[2]) || !validID(f[3]) {
		return b, fmt.Errorf("%w: bad header", errBatch)
	}
	b.Kind, b.AlertID, b.CaseID = f[1], f[2], f[3]
	if (b.Kind == batchResolution) != (b.AlertID == "-") {
		return b, fmt.Errorf("%w: bad header", errBatch)
	}
	if b.Kind == batchResolution {
		b.AlertID = ""
	}
	fields := 2
	if b.Kind == batchRing {
		fields = 4
	}
	for n := 1; len(rest) > 0; n++ {
		var line []byte
		line, rest, ok = bytes.Cut(rest, []byte{'\n'})
		if !ok {
			return b, fmt.Errorf("%w: line %d is not terminated", errBatch, n+1)
		}
		if len(b.Items) == maxBatchItems {
			return b, fmt.Errorf("%w: more than %d recipients", errBatch, maxBatchItems)
		}
		f := strings.Split(string(line), " ")
		if len(f) != fields || len(f[0]) != 1 || !validID(f[1]) {
			return b, fmt.Errorf("%w: line %d", errBatch, n+1)
		}
		var it item
		switch f[0][0] {
		case 'u':
			it.Subject = consent.User(f[1])
		case 'd':
			it.Subject = consent.Device(f[1])
		default:
			return b, fmt.Errorf("%w: line %d", errBatch, n+1)
		}
		if b.Kind == batchRing {
			ring, err1 := strconv.Atoi(f[2])
			km, err2 := strconv.Atoi(f[3])
			if err1 != nil || err2 != nil || ring < 1 || ring > MaxRings || km < 1 || km > 20_100 ||
				strconv.Itoa(ring) != f[2] || strconv.Itoa(km) != f[3] {
				return b, fmt.Errorf("%w: line %d", errBatch, n+1)
			}
			it.Ring, it.Km = ring, km
		}
		b.Items = append(b.Items, it)
	}
	if len(b.Items) == 0 {
		return b, fmt.Errorf("%w: no recipients", errBatch)
	}
	return b, nil
}
