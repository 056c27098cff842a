package main

import (
	"testing"

	"github.com/yuncan/yuncan/internal/consent"
)

// legalMinimums are categories whose legal period is a minimum kept with
// the record they belong to, not a deletion date of their own; each says
// what bounds it.
var legalMinimums = map[string]string{
	"staff_record": "who published a policy version, added partner staff or verified a case: kept with that record",
}

// P51: every category of the policy data whose retention ends on its own
// has a job that applies it, and the jobs name only declared categories.
func TestEveryRetentionRuleHasAJob(t *testing.T) {
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, c := range dm.Categories {
		declared[c.ID] = true
	}
	enforced := map[string][]string{}
	for _, r := range (&app{}).retentionJobs(nil) {
		if len(r.Categories) == 0 || r.Run == nil || r.Every <= 0 {
			t.Errorf("retention job %s: categories %v, every %v", r.Name, r.Categories, r.Every)
		}
		for _, c := range r.Categories {
			if !declared[c] {
				t.Errorf("retention job %s names %q, which the policy data does not declare", r.Name, c)
			}
			enforced[c] = append(enforced[c], r.Name)
		}
	}
	for _, c := range dm.Limited() {
		if len(enforced[c.ID]) > 0 {
			continue
		}
		if why := legalMinimums[c.ID]; c.Retention.Rule == "legal" && why != "" {
			continue
		}
		t.Errorf("P51: category %s (%s %d days %d hours) has no job applying its retention", c.ID, c.Retention.Rule, c.Retention.Days, c.Retention.Hours)
	}
	for c := range legalMinimums {
		if len(enforced[c]) > 0 {
			t.Errorf("%s is enforced by %v: take it out of legalMinimums", c, enforced[c])
		}
	}
}
