package identity_test

import (
	"context"
	"testing"

	"github.com/yuncan/yuncan/internal/identity"
)

func TestCertifierFunc(t *testing.T) {
	var got []string
	c := identity.CertifierFunc(func(_ context.Context, name string, id identity.IDNumber, phone identity.Phone) (identity.Certification, error) {
		got = append(got, name, string(id), string(phone))
		return identity.Certification{Match: true, Reference: "r-1"}, nil
	})
	var _ identity.Certifier = c
	res, err := c.Verify(context.Background(), "张三", "11010519491231002X", "+8613800138000")
	if err != nil || !res.Match || res.Reference != "r-1" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	if len(got) != 3 || got[0] != "张三" || got[1] != "11010519491231002X" || got[2] != "+8613800138000" {
		t.Errorf("the function got %q", got)
	}
}
