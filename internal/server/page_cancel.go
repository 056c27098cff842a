package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/rights"
)

// Account cancellation in the privacy center (policy 6.4, P66): the
// conditions and agreement are public (/privacy/cancellation); the request
// (/me/privacy/cancel) sends a code to the account's number, takes it with
// the agreement, and shows the cooling-off with a way to withdraw. The
// rules are the rights area's, as for the JSON API (api_cancel.go).

var cancelMessages = map[string][2]string{
	"cancel.terms.title": {"账号注销须知与协议", "Account cancellation: conditions and agreement"},
	"cancel.terms.lead": {"注销后，您的账号将无法登录，我们将删除或匿名化与您有关的全部个人信息，且不可恢复。请在申请前阅读以下条件。",
		"After cancellation your account can no longer log in, and everything we hold about you is deleted or anonymised, irreversibly. Please read these conditions before you ask."},
	"cancel.terms.how": {"如何申请：登录后在“隐私中心 → 注销账号”中申请。为保护您的账号，须使用已登录本账号至少 %d 小时的手机或浏览器，并输入发送到账号手机号的短信验证码。",
		"How: log in and go to Privacy center → Cancel my account. To protect you, ask from a phone or browser that has been logged in to this account for at least %d hours, with the SMS code sent to the account's number."},
	"cancel.terms.cooling": {"冷静期：申请后 %d 天内，您可以随时撤回；冷静期结束后立即执行删除，最迟不超过申请后 %d 个工作日。",
		"Cooling-off: for %d days after you ask you can withdraw at any time; when it ends the erasure runs at once, and in any case within %d working days of your request."},
	"cancel.terms.erased": {"将被删除的信息：账号与资料（手机号、昵称、头像、简介等）、登录设备与会话、同意记录、位置、实名认证信息、您发布的寻人信息及其照片（包括他人在其下提交的线索）、您提交的线索与照片、中转消息、站内通知、数据导出文件等。其他用户对您内容的引用将显示为“已注销用户”。",
		"What is deleted: the account and profile (number, nickname, avatar, introduction…), devices and sessions, consent records, location, real-name verification, your missing-person cases with their photos (and the clues others sent on them), your clues and photos, relay messages, inbox notices, export archives and more. Where others' content refers to you, it shows \"deleted user\"."},
	"cancel.terms.kept":      {"依法保留的记录（注销后仍保留，到期删除）：", "Records kept as the law requires (they stay after the cancellation, and go at their expiry):"},
	"cancel.terms.kept.keep": {"保留 %d 天：%s（%s）", "Kept %d days: %s (%s)"},
	"cancel.terms.kept.anon": {"去除您的身份后保留：%s（%s）", "Kept without you: %s (%s)"},
	"cancel.terms.agreement": {"注销协议：您确认注销是您本人的真实意愿；注销后账号及其中的全部信息将被删除且无法恢复，包括您发布的寻人信息及收到的线索；您可以用同一手机号重新注册，但只会得到一个全新的空账号。",
		"Agreement: you confirm the cancellation is your own wish; once it is done the account and everything in it is deleted and cannot be restored, including your missing-person cases and the clues they received; you may sign up again with the same number, but only to a new, empty account."},
	"cancel.terms.start":     {"申请注销", "Ask to cancel my account"},
	"cancel.title":           {"注销账号", "Cancel my account"},
	"cancel.send":            {"发送验证码到我的手机", "Send a code to my phone"},
	"cancel.sent":            {"验证码已发送到账号绑定的手机号。", "A code was sent to the account's number."},
	"cancel.code":            {"短信验证码", "SMS code"},
	"cancel.agree":           {"我已阅读并同意注销协议", "I have read the cancellation agreement and agree"},
	"cancel.submit":          {"确认注销", "Cancel my account"},
	"cancel.pending":         {"您的账号将于 %s 注销。在此之前，您可以撤回。", "Your account will be cancelled on %s. Until then you can withdraw."},
	"cancel.erasing":         {"正在删除您的数据，无法撤回。", "Your data is being erased; this cannot be stopped."},
	"cancel.withdraw":        {"撤回注销申请", "Withdraw the cancellation"},
	"cancel.withdrawn":       {"您于 %s 撤回了注销申请。", "You withdrew the cancellation on %s."},
	"privacy.center.cancel":  {"注销账号", "Cancel my account"},
	"flash.cancel_requested": {"注销申请已提交，冷静期内可以撤回。", "Your cancellation is in. You can withdraw it during the cooling-off."},
	"flash.cancel_withdrawn": {"注销申请已撤回，您的账号保持不变。", "The cancellation is withdrawn; your account stays as it is."},
}

func init() {
	for k, m := range cancelMessages {
		if _, dup := messages[k]; dup {
			panic("server: message " + k + " is defined twice")
		}
		messages[k] = m
	}
}

type keptRow struct {
	Keep  bool
	Days  int
	Table string
	Basis string
}

type cancelTermsView struct {
	pageBase
	KnownHours, CoolingDays, Deadline int
	Kept                              []keptRow
	LoggedIn                          bool
}

// pageCancelTerms shows the conditions and the agreement, without a login.
func (s *Server) pageCancelTerms() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.rights == nil {
			s.pageError(w, r, errNoRights)
			return
		}
		t := s.cancelTerms()
		v := &cancelTermsView{pageBase: s.newBase(w, r, "cancel.terms.title"), KnownHours: t.KnownLoginHours, CoolingDays: t.CoolingOffDays,
			Deadline: t.DeadlineWorkingDays}
		v.LoggedIn = v.User != nil
		for _, k := range t.Kept {
			row := keptRow{Keep: k.Action == string(rights.Keep), Table: k.Table, Basis: k.Basis}
			if k.RetentionDays != nil {
				row.Days = *k.RetentionDays
			}
			v.Kept = append(v.Kept, row)
		}
		s.render(w, r, http.StatusOK, "privacy_cancellation", v)
	})
}

type cancelView struct {
	pageBase
	Status         string
	Due, Withdrawn string
	Sent           bool
	Err            formErrors
}

func (s *Server) newCancelView(w http.ResponseWriter, r *http.Request) (*cancelView, error) {
	if s.rights == nil {
		return nil, errNoRights
	}
	v := &cancelView{pageBase: s.newBase(w, r, "cancel.title")}
	c, err := s.rights.CancellationOf(r.Context(), authOf(r).User.ID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	v.Status = string(c.Status)
	v.Due = c.DueAt.UTC().Format("2006-01-02 15:04 UTC")
	if !c.WithdrawnAt.IsZero() {
		v.Withdrawn = c.WithdrawnAt.UTC().Format(time.DateOnly)
	}
	return v, nil
}

// pageCancel shows the request form, or where a request stands.
func (s *Server) pageCancel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newCancelView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v.Sent = r.URL.Query().Get("sent") == "1"
		s.render(w, r, http.StatusOK, "privacy_cancel", v)
	})
}

func (s *Server) cancelPageRefused(w http.ResponseWriter, r *http.Request, err error, sent bool) {
	v, verr := s.newCancelView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	v.Sent = sent
	v.Err = s.formErr(r, v.Lang, err)
	s.render(w, r, v.Err.Status, "privacy_cancel", v)
}

// pageCancelCode sends the code to the account's number.
func (s *Server) pageCancelCode() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.rights.SendCancelCode(r.Context(), callerOf(r)); err != nil {
			s.cancelPageRefused(w, r, err, false)
			return
		}
		seeOther(w, r, "/me/privacy/cancel?sent=1")
	})
}

// pageCancelCreate takes the code and the agreement.
func (s *Server) pageCancelCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := rights.CancelRequest{Code: r.PostFormValue("code"), Agree: r.PostFormValue("agree") == "yes"}
		if _, err := s.rights.RequestCancellation(r.Context(), callerOf(r), req); err != nil {
			s.cancelPageRefused(w, r, err, true)
			return
		}
		seeOther(w, r, "/me/privacy/cancel?ok=cancel_requested")
	})
}

// pageCancelWithdraw takes a pending cancellation back.
func (s *Server) pageCancelWithdraw() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.rights.WithdrawCancellation(r.Context(), authOf(r).User.ID); err != nil {
			s.cancelPageRefused(w, r, err, false)
			return
		}
		seeOther(w, r, "/me/privacy/cancel?ok=cancel_withdrawn")
	})
}
