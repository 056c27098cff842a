package alert

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/consent"
)

func TestBatchRoundTrip(t *testing.T) {
	for _, b := range []batch{
		{Kind: batchRing, AlertID: "0190-a", CaseID: "0190-c", Items: []item{
			{Subject: consent.User("u-1"), Ring: 1, Km: 1}, {Subject: consent.Device("d-1"), Ring: 4, Km: 500}}},
		{Kind: batchResolution, CaseID: "0190-c", Items: []item{{Subject: consent.User("u-1")}, {Subject: consent.Device("u-1")}}},
	} {
		data := b.encode(nil)
		got, err := decodeBatch(data)
		if err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("round trip of %q = %+v, want %+v", data, got, b)
		}
	}
}

// A batch that does not parse is refused, never half-read.
func TestDecodeBatchRefuses(t *testing.T) {
	for _, bad := range []string{
		"",
		"A1 ring a c",   // no newline
		"A1 ring a c\n", // no recipients
		"A2 ring a c\nu x 1 1\n",
		"A1 party a c\nu x 1 1\n",
		"A1 ring a c\nu x 1\n",
		"A1 ring a c\nx x 1 1\n",
		"A1 ring a c\nu x 0 1\n",
		"A1 ring a c\nu x 1 0\n",
		"A1 ring a c\nu x 21 1\n",
		"A1 ring a c\nu x 01 1\n",
		"A1 ring a c\nu x 1 1",         // last line not terminated
		"A1 ring a c\nu  1 1\n",        // empty id
		"A1 resolution a c\nu x\n",     // a resolution names no alert
		"A1 resolution - c\nu x 1 1\n", // nor rings
		"A1 ring - c\nu x 1 1\n",       // a ring names its alert
		"A1 ring a " + strings.Repeat("c", 65) + "\nu x 1 1\n",
	} {
		if b, err := decodeBatch([]byte(bad)); err == nil {
			t.Errorf("decodeBatch(%q) = %+v, want an error", bad, b)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte("A1 ring a c\nu x 1 1\nd y 2 30\n"))
	f.Add([]byte("A1 resolution - c\nu x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(data)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes.
		if again := b.encode(nil); string(again) != string(data) {
			t.Fatalf("decode then encode changed %q into %q", data, again)
		}
	})
}

// The split into batches depends only on the people and the count: a
// repeated opening after a crash makes the same batches; with twice the
// batches each is a part of an old one.
func TestSplitIsStable(t *testing.T) {
	var items []item
	for i := range 5000 {
		items = append(items, item{Subject: consent.User(fmt.Sprintf("0190a1b2-%04d-7000-8000-%012d", i%9973, i)), Ring: 1, Km: 3})
	}
	n := batchCount(len(items), 1000)
	if n != 8 {
		t.Fatalf("batchCount(5000, 1000) = %d, want 8", n)
	}
	a := split(items, n)
	reversed := make([]item, len(items))
	for i, it := range items {
		reversed[len(items)-1-i] = it
	}
	b := split(reversed, n)
	total := 0
	for i := range a {
		if len(a[i]) != len(b[i]) || len(a[i]) < 400 || len(a[i]) > 900 {
			t.Errorf("batch %d holds %d and %d", i, len(a[i]), len(b[i]))
		}
		in := map[consent.Subject]bool{}
		for _, it := range a[i] {
			in[it.Subject] = true
		}
		for _, it := range b[i] {
			if !in[it.Subject] {
				t.Fatalf("%v moved batch when the order changed", it.Subject)
			}
		}
		total += len(a[i])
	}
	if total != len(items) {
		t.Fatalf("split kept %d of %d", total, len(items))
	}
	double := split(items, 2*n)
	for i, part := range double {
		for _, it := range part {
			if bucketOf(it.Subject, n) != i%n {
				t.Fatalf("%v is in batch %d of %d but %d of %d", it.Subject, i, 2*n, bucketOf(it.Subject, n), n)
			}
		}
	}
	for _, tc := range []struct{ n, want int }{{1, 1}, {1000, 1}, {1001, 2}, {2000, 2}, {2001, 4}, {1_000_000, 1024}} {
		if got := batchCount(tc.n, 1000); got != tc.want {
			t.Errorf("batchCount(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
