package incidents

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
)

// DefaultAuthority is who the regulator report goes to unless staff or
// the operator name another: the cyberspace administration of the
// province the operator is registered in.
const DefaultAuthority = "属地省级网信部门（省、自治区、直辖市互联网信息办公室） / the provincial cyberspace administration"

// Config holds the rules an operator may tune; zero values take the
// defaults (docs/incidents.md).
type Config struct {
	// Authority is the default recipient of regulator reports;
	// DefaultAuthority when "".
	Authority string
	// BatchSize is how many accounts the notification job tells between
	// two saves of its progress. 200.
	BatchSize int
	// Workers is how many notices of a batch are dispatched at once. 8.
	Workers int
	// Lease is how long a job may hold an incident without saving
	// progress before another process takes it over. 10 minutes: more
	// than a batch takes, pushes retried with backoff included.
	Lease time.Duration
	// Retention is how long the rows saying who was told stay after the
	// incident is closed. 3 years (1095 days), as the policy data's
	// incident_notice category says.
	Retention time.Duration
}

func (c Config) withDefaults() Config {
	if c.Authority == "" {
		c.Authority = DefaultAuthority
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 200
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Lease <= 0 {
		c.Lease = 10 * time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = 1095 * 24 * time.Hour
	}
	return c
}

// Notifier delivers a notice everywhere it should go: notify.Dispatcher
// (the inbox, the live streams, and each device's push channel). A
// repeated dispatch with the same dedupe key only completes what is
// missing.
type Notifier interface {
	Dispatch(ctx context.Context, n notify.Notification) (notify.Result, error)
}

// Deps are what the service works with.
type Deps struct {
	Store    Store
	Notifier Notifier
	// Audit is the audit log staff actions go to (P52); nil means a log
	// over Store.
	Audit *audit.Log
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service carries out the incident rules.
type Service struct {
	store    Store
	notifier Notifier
	log      *audit.Log
	now      func() time.Time
	cfg      Config
	logger   *slog.Logger
}

// NewService returns the incidents service.
func NewService(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Audit == nil {
		d.Audit = audit.NewLog(d.Store, d.Now)
	}
	return &Service{store: d.Store, notifier: d.Notifier, log: d.Audit, now: d.Now, cfg: cfg.withDefaults(), logger: d.Logger}
}

// Config returns the rules in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Actor is who calls: an account and its role.
type Actor struct {
	UserID string
	Role   identity.Role
}

// ActorOf is the actor of an account.
func ActorOf(u identity.User) Actor { return Actor{UserID: u.ID, Role: u.Role} }

// Audit actions.
const (
	AuditDeclare = "incident.declare"
	AuditReport  = "incident.report_submitted"
	AuditClose   = "incident.close"
)

var (
	errAdminOnly = yuncan.Errorf(yuncan.Forbidden, "security incidents are for admins only")
	errNotFound  = yuncan.Errorf(yuncan.NotFound, "there is no such incident")
)

func (a Actor) admin() bool { return a.Role == identity.RoleAdmin && a.UserID != "" }

// audit appends a staff action on an incident to the audit log (P52),
// right after it commits.
func (s *Service) audit(ctx context.Context, a Actor, action, id, reason string) error {
	if _, err := s.log.Append(ctx, audit.Record{ActorID: a.UserID, ActorRole: a.Role, Action: action,
		TargetKind: "incident", TargetID: id, Reason: reason}); err != nil {
		return fmt.Errorf("incidents: %w", err)
	}
	return nil
}

// validate checks in against now and returns every field's problem at
// once, with the discovery time filled in and the listed ids without
// repeats.
func (in *Input) validate(now time.Time) error {
	e := yuncan.Errorf(yuncan.Invalid, "the incident has invalid fields")
	if !in.Severity.Valid() {
		e.WithField("severity", "must be low, medium, high or critical")
	}
	soon := now.Add(time.Minute)
	switch {
	case in.OccurredAt.IsZero():
		e.WithField("occurred_at", "is required")
	case in.OccurredAt.After(soon):
		e.WithField("occurred_at", "must not be in the future")
	}
	if in.DiscoveredAt.IsZero() {
		in.DiscoveredAt = now
	}
	switch {
	case in.DiscoveredAt.After(soon):
		e.WithField("discovered_at", "must not be in the future")
	case !in.OccurredAt.IsZero() && in.DiscoveredAt.Before(in.OccurredAt):
		e.WithField("discovered_at", "must not be before occurred_at")
	}
	switch {
	case len(in.Texts) == 0:
		e.WithField("texts", "is required: the five elements in Chinese, English or both")
	case len(in.Texts) > len(Langs):
		e.WithField("texts", "must hold at most one text per language")
	}
	seen := map[Lang]bool{}
	for i, t := range in.Texts {
		at := fmt.Sprintf("texts[%d]", i)
		switch {
		case !slices.Contains(Langs, t.Lang):
			e.WithField(at+".lang", "must be zh or en")
		case seen[t.Lang]:
			e.WithField(at+".lang", "is given twice")
		}
		seen[t.Lang] = true
		ok := true
		for _, el := range t.Elements() {
			if p := checkText(el.Value, MaxElement); p != "" {
				e.WithField(at+"."+el.Field, p)
				ok = false
			}
		}
		if ok && slices.Contains(Langs, t.Lang) {
			if n := len([]rune(NoticeBody(t))); n > MaxNotice {
				e.WithField(at, fmt.Sprintf("the five elements with their labels must fit one notice of %d characters (now %d): shorten them", MaxNotice, n))
			}
		}
	}
	switch {
	case in.Affected.All && len(in.Affected.UserIDs) > 0:
		e.WithField("affected", "must be all or a list of account ids, not both")
	case !in.Affected.All && len(in.Affected.UserIDs) == 0:
		e.WithField("affected", "is required: all, or the affected account ids")
	case len(in.Affected.UserIDs) > MaxAffected:
		e.WithField("affected", fmt.Sprintf("must list at most %d accounts; declare all for more", MaxAffected))
	default:
		var ids []string
		dup := map[string]bool{}
		for _, id := range in.Affected.UserIDs {
			if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
				e.WithField("affected", "must hold account ids")
				break
			}
			if !dup[id] {
				dup[id] = true
				ids = append(ids, id)
			}
		}
		in.Affected.UserIDs = ids
	}
	if in.Authority != "" {
		if p := checkLine(in.Authority, MaxAuthority); p != "" {
			e.WithField("authority", p)
		}
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// sortTexts puts the Chinese text first, the language notices go out
// in.
func sortTexts(ts []Text) {
	slices.SortFunc(ts, func(a, b Text) int { return slices.Index(Langs, a.Lang) - slices.Index(Langs, b.Lang) })
}

var severityZH = map[Severity]string{SeverityLow: "一般", SeverityMedium: "较大", SeverityHigh: "重大", SeverityCritical: "特别重大"}

// facts are what the regulator report states, as known at declaration:
// the grade, the times, the scale, the situation and the measures, and
// how the people affected are told.
func facts(r Record, t Text, cst *time.Location) string {
	day := func(at time.Time) string { return at.In(cst).Format("2006-01-02 15:04 MST") }
	scale := fmt.Sprintf("%d 个账号（逐一告知：站内信及推送）", r.AffectedCount)
	if r.AffectedAll {
		scale = fmt.Sprintf("全体用户，宣告时共 %d 个账号（逐一告知：站内信及推送；另发布公告）", r.AffectedCount)
	}
	lines := []string{
		"事件编号：" + r.ID,
		"事件级别：" + severityZH[r.Severity] + "（" + string(r.Severity) + "）",
		"发生时间：" + day(r.OccurredAt),
		"发现时间：" + day(r.DiscoveredAt),
		"启动应急预案并宣告：" + day(r.DeclaredAt),
		"影响范围：" + scale,
		Label(t.Lang, 0) + "：" + t.WhatHappened,
		Label(t.Lang, 1) + "：" + t.Impact,
		Label(t.Lang, 2) + "：" + t.Measures,
	}
	return strings.Join(lines, "\n")
}

// chinaTime is the zone regulator reports give times in.
var chinaTime = time.FixedZone("CST", 8*60*60)

// Declare records an incident staff declared (policy 5f, P54): its five
// elements, who is affected, the regulator report record with the facts,
// and, when it affects everyone, the public announcement. The
// notification job then tells each affected account. Only admins may.
func (s *Service) Declare(ctx context.Context, a Actor, in Input) (Incident, error) {
	if !a.admin() {
		return Incident{}, errAdminOnly
	}
	now := s.now().UTC()
	in.Texts = slices.Clone(in.Texts)
	if err := in.validate(now); err != nil {
		return Incident{}, err
	}
	sortTexts(in.Texts)
	r := Record{ID: newID(), Severity: in.Severity, Status: StatusDeclared, OccurredAt: in.OccurredAt.UTC(),
		DiscoveredAt: in.DiscoveredAt.UTC(), DeclaredAt: now, DeclaredBy: a.UserID, AffectedAll: in.Affected.All, UpdatedAt: now}
	if in.Affected.All {
		n, err := s.store.CountUsersCreatedBy(ctx, now)
		if err != nil {
			return Incident{}, fmt.Errorf("incidents: declare: %w", err)
		}
		r.AffectedCount = n
	} else {
		if err := s.checkAccounts(ctx, in.Affected.UserIDs); err != nil {
			return Incident{}, err
		}
		r.AffectedCount = len(in.Affected.UserIDs)
	}
	authority := in.Authority
	if authority == "" {
		authority = s.cfg.Authority
	}
	rep := Report{IncidentID: r.ID, Authority: authority, Facts: facts(r, in.Texts[0], chinaTime), CreatedAt: now}
	var ann *AnnouncementRecord
	if in.Affected.All {
		// Everyone is affected: telling each one takes a while, so the
		// public announcement goes out at once (policy 5f).
		ann = &AnnouncementRecord{ID: newID(), IncidentID: r.ID, PublishedAt: now}
	}
	err := s.store.CreateIncident(ctx, r, in.Texts, rep, in.Affected.UserIDs, ann)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		// An account was deleted between the check and the insert.
		return Incident{}, yuncan.FieldError("affected", "holds ids that are not accounts")
	}
	if err != nil {
		return Incident{}, fmt.Errorf("incidents: declare: %w", err)
	}
	scope := fmt.Sprintf("%s, %d accounts", r.Severity, r.AffectedCount)
	if r.AffectedAll {
		scope = fmt.Sprintf("%s, all %d accounts", r.Severity, r.AffectedCount)
	}
	if err := s.audit(ctx, a, AuditDeclare, r.ID, scope); err != nil {
		return Incident{}, err
	}
	s.logger.InfoContext(ctx, "incidents: declared", slog.String("incident_id", r.ID), slog.String("staff_id", a.UserID),
		slog.String("severity", string(r.Severity)), slog.Bool("all", r.AffectedAll), slog.Int("affected", r.AffectedCount))
	return s.load(ctx, r.ID)
}

// checkAccounts refuses ids that are not accounts, naming a few.
func (s *Service) checkAccounts(ctx context.Context, ids []string) error {
	known := map[string]bool{}
	const chunk = 500
	for i := 0; i < len(ids); i += chunk {
		got, err := s.store.ExistingUsers(ctx, ids[i:min(i+chunk, len(ids))])
		if err != nil {
			return fmt.Errorf("incidents: declare: %w", err)
		}
		for _, id := range got {
			known[id] = true
		}
	}
	var unknown []string
	for _, id := range ids {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	shown := unknown[:min(len(unknown), 5)]
	more := ""
	if len(unknown) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(unknown)-len(shown))
	}
	return yuncan.FieldError("affected", fmt.Sprintf("holds ids that are not accounts: %s%s", strings.Join(shown, ", "), more)).
		WithReason("unknown_accounts")
}

// load returns an incident with its texts, report and progress.
func (s *Service) load(ctx context.Context, id string) (Incident, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Incident{}, errNotFound
	}
	r, err := s.store.IncidentByID(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Incident{}, errNotFound
	}
	if err != nil {
		return Incident{}, fmt.Errorf("incidents: incident %s: %w", id, err)
	}
	return s.view(ctx, r)
}

func (s *Service) view(ctx context.Context, r Record) (Incident, error) {
	i := Incident{ID: r.ID, Severity: r.Severity, Status: r.Status, OccurredAt: r.OccurredAt, DiscoveredAt: r.DiscoveredAt,
		DeclaredAt: r.DeclaredAt, DeclaredBy: r.DeclaredBy, AffectedAll: r.AffectedAll, NotifiedAt: r.NotifiedAt,
		ClosedAt: r.ClosedAt, ClosedBy: r.ClosedBy, UpdatedAt: r.UpdatedAt}
	var err error
	if i.Texts, err = s.store.Texts(ctx, r.ID); err != nil {
		return Incident{}, fmt.Errorf("incidents: incident %s: texts: %w", r.ID, err)
	}
	if i.Report, err = s.store.ReportOf(ctx, r.ID); err != nil {
		return Incident{}, fmt.Errorf("incidents: incident %s: report: %w", r.ID, err)
	}
	notified, err := s.store.CountNotified(ctx, r.ID)
	if err != nil {
		return Incident{}, fmt.Errorf("incidents: incident %s: progress: %w", r.ID, err)
	}
	i.Progress = Progress{Affected: r.AffectedCount, Notified: notified, Done: r.Status != StatusDeclared}
	if !i.Progress.Done {
		i.Progress.Pending = max(0, r.AffectedCount-notified)
	}
	if r.AffectedAll {
		ann, err := s.store.AnnouncementOf(ctx, r.ID)
		if err != nil {
			return Incident{}, fmt.Errorf("incidents: incident %s: announcement: %w", r.ID, err)
		}
		i.AnnouncementID = ann.ID
	}
	return i, nil
}

// Get returns an incident with its delivery progress and regulator
// report. Only admins may.
func (s *Service) Get(ctx context.Context, a Actor, id string) (Incident, error) {
	if !a.admin() {
		return Incident{}, errAdminOnly
	}
	return s.load(ctx, id)
}

// List lists incidents newest first, of status ("" any), limit (1 to
// 100; 20 when 0) after cursor; next is "" on the last page. Only admins
// may.
func (s *Service) List(ctx context.Context, a Actor, status Status, cursor string, limit int) (items []Incident, next string, err error) {
	if !a.admin() {
		return nil, "", errAdminOnly
	}
	e := yuncan.Errorf(yuncan.Invalid, "the query has invalid parameters")
	if status != "" && !status.Valid() {
		e.WithField("status", "must be declared, notified or closed")
	}
	limit, err = yuncan.PageLimit(limit)
	if err != nil {
		e.WithField("limit", "must be 1 to 100")
	}
	after, err := yuncan.DecodeCursor(cursor)
	if err != nil {
		e.WithField("cursor", "is not a cursor this list gave")
	}
	if len(e.Fields) > 0 {
		return nil, "", e
	}
	rs, err := s.store.Incidents(ctx, status, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("incidents: list: %w", err)
	}
	items = []Incident{}
	for i, r := range rs {
		if i == limit {
			next = Cursor{At: rs[i-1].DeclaredAt, ID: rs[i-1].ID}.Encode()
			break
		}
		it, err := s.view(ctx, r)
		if err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	return items, next, nil
}

// SubmitReport marks the regulator report submitted (policy 5f: "report
// ... in accordance with the requirements of relevant regulatory
// authorities"): when, the reference the authority gave, and the
// authority when it differs from the one recorded. Zero at means now.
// Only admins may, once.
func (s *Service) SubmitReport(ctx context.Context, a Actor, id, reference string, at time.Time, authority string) (Incident, error) {
	if !a.admin() {
		return Incident{}, errAdminOnly
	}
	now := s.now().UTC()
	e := yuncan.Errorf(yuncan.Invalid, "the report has invalid fields")
	if p := checkLine(reference, MaxReference); p != "" {
		e.WithField("reference", p)
	}
	if authority != "" {
		if p := checkLine(authority, MaxAuthority); p != "" {
			e.WithField("authority", p)
		}
	}
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) {
		e.WithField("submitted_at", "must not be in the future")
	}
	if len(e.Fields) > 0 {
		return Incident{}, e
	}
	i, err := s.load(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	if at.Before(i.DeclaredAt.Add(-24 * time.Hour)) {
		return Incident{}, yuncan.FieldError("submitted_at", "must not be before the incident was declared")
	}
	if i.Report.Submitted() {
		return Incident{}, yuncan.Errorf(yuncan.Conflict, "the report is marked submitted already").WithReason("report_submitted")
	}
	rep := i.Report
	rep.SubmittedAt, rep.SubmittedBy, rep.Reference = at.UTC(), a.UserID, reference
	if authority != "" {
		rep.Authority = authority
	}
	err = s.store.SubmitReport(ctx, rep)
	switch yuncan.ErrorCode(err) {
	case "":
	case yuncan.NotFound:
		return Incident{}, errNotFound
	case yuncan.Conflict:
		return Incident{}, yuncan.Errorf(yuncan.Conflict, "the report is marked submitted already").WithReason("report_submitted")
	default:
		return Incident{}, fmt.Errorf("incidents: submit report %s: %w", id, err)
	}
	if err := s.audit(ctx, a, AuditReport, id, "reference "+reference); err != nil {
		return Incident{}, err
	}
	s.logger.InfoContext(ctx, "incidents: regulator report submitted", slog.String("incident_id", id), slog.String("staff_id", a.UserID))
	return s.load(ctx, id)
}

// Close closes an incident once every affected account has its notice.
// Only admins may.
func (s *Service) Close(ctx context.Context, a Actor, id string) (Incident, error) {
	if !a.admin() {
		return Incident{}, errAdminOnly
	}
	i, err := s.load(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	switch i.Status {
	case StatusClosed:
		return Incident{}, yuncan.Errorf(yuncan.Conflict, "the incident is closed already").WithReason("invalid_transition")
	case StatusDeclared:
		return Incident{}, yuncan.Errorf(yuncan.Conflict, "the affected people are still being told; close it once they all are").
			WithReason("notification_pending")
	}
	err = s.store.CloseIncident(ctx, id, s.now().UTC(), a.UserID)
	switch yuncan.ErrorCode(err) {
	case "":
	case yuncan.NotFound:
		return Incident{}, errNotFound
	case yuncan.Conflict:
		return Incident{}, yuncan.Errorf(yuncan.Conflict, "the incident changed meanwhile; reload it").WithReason("incident_changed")
	default:
		return Incident{}, fmt.Errorf("incidents: close %s: %w", id, err)
	}
	if err := s.audit(ctx, a, AuditClose, id, ""); err != nil {
		return Incident{}, err
	}
	s.logger.InfoContext(ctx, "incidents: closed", slog.String("incident_id", id), slog.String("staff_id", a.UserID))
	return s.load(ctx, id)
}

// Announcements lists the public announcements newest first, limit (1
// to 100; 20 when 0) after cursor; next is "" on the last page. Anyone
// may read them.
func (s *Service) Announcements(ctx context.Context, cursor string, limit int) (items []Announcement, next string, err error) {
	limit, err = yuncan.PageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	after, err := yuncan.DecodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	rs, err := s.store.Announcements(ctx, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("incidents: announcements: %w", err)
	}
	items = []Announcement{}
	for i, r := range rs {
		if i == limit {
			next = Cursor{At: rs[i-1].PublishedAt, ID: rs[i-1].ID}.Encode()
			break
		}
		a, err := s.announcement(ctx, r)
		if err != nil {
			return nil, "", err
		}
		items = append(items, a)
	}
	return items, next, nil
}

// Announcement returns one public announcement. NotFound when there is
// none.
func (s *Service) Announcement(ctx context.Context, id string) (Announcement, error) {
	notFound := yuncan.Errorf(yuncan.NotFound, "there is no such announcement")
	if _, err := uuid.Parse(id); err != nil {
		return Announcement{}, notFound
	}
	r, err := s.store.AnnouncementByID(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Announcement{}, notFound
	}
	if err != nil {
		return Announcement{}, fmt.Errorf("incidents: announcement %s: %w", id, err)
	}
	return s.announcement(ctx, r)
}

func (s *Service) announcement(ctx context.Context, r AnnouncementRecord) (Announcement, error) {
	inc, err := s.store.IncidentByID(ctx, r.IncidentID)
	if err != nil {
		return Announcement{}, fmt.Errorf("incidents: announcement %s: %w", r.ID, err)
	}
	texts, err := s.store.Texts(ctx, r.IncidentID)
	if err != nil {
		return Announcement{}, fmt.Errorf("incidents: announcement %s: %w", r.ID, err)
	}
	return Announcement{ID: r.ID, IncidentID: r.IncidentID, PublishedAt: r.PublishedAt, Severity: inc.Severity,
		OccurredAt: inc.OccurredAt, Texts: texts}, nil
}
