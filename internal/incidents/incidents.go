// Package incidents handles personal information security incidents
// (policy 5f; P54; PIPL Art. 57): staff declare an incident with the five
// elements the policy promises every affected person (what happened, the
// possible impact, the measures taken, what the person can do, and the
// remedies), and the people affected — a list of accounts, or everyone.
// A durable job then tells each of them in the inbox and on their push
// channels; when everyone is affected an announcement is published too;
// and the record of the report to the regulator is kept from the moment
// of declaration until staff mark it submitted.
package incidents

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Severity is the incident's grade, after the four grades of China's
// cybersecurity incident classification.
type Severity string

// Severities.
const (
	SeverityLow      Severity = "low"      // 一般
	SeverityMedium   Severity = "medium"   // 较大
	SeverityHigh     Severity = "high"     // 重大
	SeverityCritical Severity = "critical" // 特别重大
)

// Severities lists the grades, mildest first.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Valid reports whether s is a known grade.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Status is where an incident stands: declared (people are being told),
// notified (every affected account has its notice), closed.
type Status string

// Statuses.
const (
	StatusDeclared Status = "declared"
	StatusNotified Status = "notified"
	StatusClosed   Status = "closed"
)

// Statuses lists every status, in order.
var Statuses = []Status{StatusDeclared, StatusNotified, StatusClosed}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Lang is the language of a notice's text.
type Lang string

// Languages.
const (
	LangZH Lang = "zh"
	LangEN Lang = "en"
)

// Langs lists the languages, the one notices go out in first.
var Langs = []Lang{LangZH, LangEN}

// Text is the notice in one language: the five elements policy 5f names.
type Text struct {
	Lang Lang
	// WhatHappened is the basic situation of the incident.
	WhatHappened string
	// Impact is its possible impact on the person.
	Impact string
	// Measures are what the operator did or will do about it.
	Measures string
	// Advice is what the person can do to prevent and reduce the risks.
	Advice string
	// Remedies are the remedial measures for the person.
	Remedies string
}

// Element is one of the five elements, by its field name.
type Element struct {
	Field string
	Value string
}

// Elements lists the five elements of t, in the order a notice shows
// them.
func (t Text) Elements() []Element {
	return []Element{{"what_happened", t.WhatHappened}, {"impact", t.Impact}, {"measures", t.Measures},
		{"advice", t.Advice}, {"remedies", t.Remedies}}
}

// Limits.
const (
	// MaxElement bounds each element, in characters.
	MaxElement = 400
	// MaxNotice bounds the notice the five elements make in one
	// language, labels included: the body of an inbox notification (what
	// a push carries), so that every notice holds all five in full.
	MaxNotice = 500
	// MaxAffected bounds the accounts one declaration lists; a larger
	// set is declared as everyone.
	MaxAffected = 20000
	// MaxAuthority bounds the name of the authority reported to.
	MaxAuthority = 200
	// MaxReference bounds the reference the authority gave the report.
	MaxReference = 200
)

// labels are the names of the five elements in a notice, by language.
var labels = map[Lang][5]string{
	LangZH: {"事件情况", "可能的影响", "我们已采取的措施", "您可以这样保护自己", "补救措施"},
	LangEN: {"What happened", "Possible impact", "What we did", "What you can do", "Remedies"},
}

// Label is the name of element i (0 to 4) in lang.
func Label(lang Lang, i int) string { return labels[lang][i] }

// noticeTitle is the title of the inbox notification, by language.
var noticeTitle = map[Lang]string{
	LangZH: "个人信息安全事件告知",
	LangEN: "Notice of a personal information security incident",
}

// NoticeBody is the notice of t: each element after its label, one to a
// line. Every notification carries it in full (P54).
func NoticeBody(t Text) string {
	var b strings.Builder
	sep := "："
	if t.Lang == LangEN {
		sep = ": "
	}
	for i, el := range t.Elements() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(labels[t.Lang][i] + sep + el.Value)
	}
	return b.String()
}

// checkText returns what is wrong with a free text, or "" when it is
// fine: required, valid UTF-8, at most max characters, no control
// characters but line breaks and tabs.
func checkText(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.TrimSpace(s) == "":
		return "is required"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("must have at most %d characters", max)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return "contains control characters"
	}
	return ""
}

// checkLine is checkText for a one-line value.
func checkLine(s string, max int) string {
	if p := checkText(s, max); p != "" {
		return p
	}
	if strings.ContainsAny(s, "\r\n\t") {
		return "must be one line"
	}
	return ""
}

// Affected is who an incident affects: every account, or the listed
// ones.
type Affected struct {
	All     bool
	UserIDs []string
}

// Input is an incident as staff declare it.
type Input struct {
	Severity Severity
	// OccurredAt is when the incident happened (as far as known);
	// DiscoveredAt when it was found, zero meaning now.
	OccurredAt   time.Time
	DiscoveredAt time.Time
	// Texts are the notice in Chinese, English or both.
	Texts    []Text
	Affected Affected
	// Authority is who the regulator report goes to; "" takes the
	// configured one.
	Authority string
}

// Incident is an incident as staff see it.
type Incident struct {
	ID           string
	Severity     Severity
	Status       Status
	OccurredAt   time.Time
	DiscoveredAt time.Time
	DeclaredAt   time.Time
	DeclaredBy   string
	Texts        []Text
	// AffectedAll: every account at the time of declaration.
	AffectedAll bool
	Progress    Progress
	NotifiedAt  time.Time // zero until every notice is out
	ClosedAt    time.Time
	ClosedBy    string
	UpdatedAt   time.Time
	Report      Report
	// AnnouncementID is the public announcement, "" when the incident
	// does not affect everyone.
	AnnouncementID string
}

// LogValue logs ids and state, never the texts.
func (i Incident) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", i.ID), slog.String("severity", string(i.Severity)), slog.String("status", string(i.Status)))
}

// Text returns the incident's text in lang, or in the other language
// when it has none in lang.
func (i Incident) Text(lang Lang) Text { return pickText(i.Texts, lang) }

func pickText(ts []Text, lang Lang) Text {
	for _, t := range ts {
		if t.Lang == lang {
			return t
		}
	}
	if len(ts) > 0 {
		return ts[0]
	}
	return Text{}
}

// Progress is how far the notification of the affected people is.
type Progress struct {
	// Affected counts the accounts affected at declaration.
	Affected int
	// Notified counts those whose notice is in their inbox (pushed to
	// their devices as well, as far as they have push channels).
	Notified int
	// Pending counts those still to be told; 0 once done (accounts
	// deleted meanwhile are never told).
	Pending int
	Done    bool
}

// Report is the record of the report to the regulator, kept from the
// declaration on.
type Report struct {
	IncidentID string
	// Authority is who the report goes to (the provincial cyberspace
	// administration, by default).
	Authority string
	// Facts are what the report states, as known at declaration.
	Facts     string
	CreatedAt time.Time
	// SubmittedAt, SubmittedBy and Reference are set when staff mark the
	// report submitted.
	SubmittedAt time.Time
	SubmittedBy string
	Reference   string
}

// Submitted reports whether the report has been marked submitted.
func (r Report) Submitted() bool { return !r.SubmittedAt.IsZero() }

// Announcement is a public notice of an incident that affects everyone:
// readable without an account.
type Announcement struct {
	ID          string
	IncidentID  string
	PublishedAt time.Time
	Severity    Severity
	OccurredAt  time.Time
	Texts       []Text
}

// Text returns the announcement's text in lang, or in the other
// language when it has none in lang.
func (a Announcement) Text(lang Lang) Text { return pickText(a.Texts, lang) }
