package server

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/yuncan/yuncan"
)

// The page languages. Chinese comes first: it is what a visitor gets when
// nothing they send prefers English.
const (
	langZH = "zh"
	langEN = "en"
)

var langMatcher = language.NewMatcher([]language.Tag{language.Chinese, language.English})

// pickLang chooses the page language: an explicit choice (the yc_lang
// cookie) first, then the Accept-Language header, then Chinese.
func pickLang(cookie, acceptLanguage string) string {
	if cookie == langZH || cookie == langEN {
		return cookie
	}
	if acceptLanguage == "" {
		return langZH
	}
	if _, i := language.MatchStrings(langMatcher, acceptLanguage); i == 1 {
		return langEN
	}
	return langZH
}

// translate returns the message for key in lang, formatted with args when
// there are any. A missing key shows itself, which the message test
// catches before it reaches anyone.
func translate(lang, key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	s := m[0]
	if lang == langEN {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// hasMessage reports whether key is a known message.
func hasMessage(key string) bool {
	_, ok := messages[key]
	return ok
}

// messages holds every string the pages show, by key: {Chinese, English}.
var messages = map[string][2]string{
	"site.name":        {"云寻", "Yuncan"},
	"site.tagline":     {"公益寻人", "People-seeking for the public good"},
	"nav.home":         {"首页", "Home"},
	"nav.login":        {"登录 / 注册", "Log in / Sign up"},
	"nav.me":           {"我的资料", "My profile"},
	"nav.sessions":     {"登录设备", "Sessions"},
	"nav.logout":       {"退出登录", "Log out"},
	"nav.main":         {"主导航", "Main navigation"},
	"footer.privacy":   {"隐私政策", "Privacy policy"},
	"footer.about":     {"云寻是一项公益寻人服务。", "Yuncan is a public-welfare people-seeking service."},
	"footer.language":  {"语言：", "Language:"},
	"lang.zh":          {"中文", "中文"},
	"lang.en":          {"English", "English"},
	"form.required":    {"必填", "required"},
	"form.optional":    {"选填，留空即清除", "optional; leave empty to clear"},
	"form.fix_fields":  {"请更正下面标出的内容。", "Please correct the fields marked below."},
	"common.not_set":   {"未填写", "Not set"},
	"common.save":      {"保存", "Save"},
	"common.back_home": {"返回首页", "Back to the home page"},

	"home.title":       {"云寻 · 公益寻人", "Yuncan · people-seeking for the public good"},
	"home.lead":        {"云寻帮助家人、救助站、志愿者和警方寻找走失的人。", "Yuncan helps families, rescue stations, volunteers and the police find people who have gone missing."},
	"home.how.title":   {"它如何运作", "How it works"},
	"home.how.publish": {"家人、救助站、志愿者或警方发布寻人信息，经审核后公开。", "Families, rescue stations, volunteers or the police publish a missing-person case; it is reviewed before it goes public."},
	"home.how.alert":   {"信息会推送给走失地点附近、自愿分享位置的人，范围随时间逐步扩大。", "The case is pushed to people near where the person was last seen who chose to share their location, in rings that widen with time."},
	"home.how.clue":    {"任何人都可以浏览寻人信息、关注进展并提供线索。", "Anyone can browse cases, follow them and send clues."},
	"home.privacy":     {"我们只在您同意的范围内处理个人信息，您可以随时查看、更正和删除自己的信息。", "We process personal information only as far as you agree, and you can see, correct and erase what we hold at any time."},
	"home.cta.login":   {"登录或注册", "Log in or sign up"},
	"home.cta.me":      {"查看我的资料", "Go to my profile"},
	"home.cta.policy":  {"阅读隐私政策", "Read the privacy policy"},
	"home.welcome":     {"欢迎回来，%s。", "Welcome back, %s."},

	"login.title":            {"登录 / 注册", "Log in / Sign up"},
	"login.lead":             {"用手机号和短信验证码登录；首次登录会自动创建账号。", "Log in with your mobile number and an SMS code; the first login creates your account."},
	"login.code.title":       {"短信验证码登录", "Log in with an SMS code"},
	"login.phone":            {"手机号", "Mobile number"},
	"login.phone.hint":       {"中国大陆号码可直接填写，其他地区请加国家码，如 +852。", "Mainland China numbers as they are; others with the country code, such as +852."},
	"login.send_code":        {"获取验证码", "Send code"},
	"login.resend_code":      {"重新发送验证码", "Send a new code"},
	"login.code":             {"验证码", "Code"},
	"login.code_sent":        {"验证码已发送，%d 分钟内有效。", "The code is on its way; it is valid for %d minutes."},
	"login.accept.pre":       {"我已阅读并同意", "I have read and accept the "},
	"login.accept.link":      {"隐私政策", "privacy policy"},
	"login.accept.post":      {"（版本 %s）。注册新账号时必须勾选。", " (version %s). A new account needs this."},
	"login.submit":           {"登录", "Log in"},
	"login.password.title":   {"使用密码登录", "Log in with a password"},
	"login.password":         {"密码", "Password"},
	"login.password.submit":  {"用密码登录", "Log in with password"},
	"login.password.lead":    {"设置过密码的账号也可以用密码登录。", "Accounts that have set a password can also log in with it."},
	"privacy.title":          {"隐私政策", "Privacy policy"},
	"privacy.version":        {"版本 %s，自 %s 起生效。", "Version %s, in effect since %s."},
	"privacy.english_only":   {"此版本政策仅有英文文本，中文文本将随下一版本发布。", "This version of the policy exists in English only; a Chinese text comes with the next version."},
	"me.title":               {"我的资料", "My profile"},
	"me.phone":               {"手机号", "Mobile number"},
	"me.nickname":            {"昵称", "Nickname"},
	"me.gender":              {"性别", "Gender"},
	"me.gender.female":       {"女", "Female"},
	"me.gender.male":         {"男", "Male"},
	"me.gender.other":        {"其他", "Other"},
	"me.birthday":            {"生日", "Birthday"},
	"me.region":              {"地区", "Region"},
	"me.introduction":        {"个人简介", "Introduction"},
	"me.avatar":              {"头像", "Avatar"},
	"me.avatar.alt":          {"%s 的头像", "%s's avatar"},
	"me.edit.title":          {"修改资料", "Edit profile"},
	"me.edit.lead":           {"除昵称外都是选填；清空输入框即可删除该项。", "Everything but the nickname is optional; empty a field to remove it."},
	"me.avatar.title":        {"更换头像", "Change avatar"},
	"me.avatar.hint":         {"JPEG、PNG、GIF 或 WebP，不超过 5 MB。图片会被裁成正方形并去除位置等元数据。", "JPEG, PNG, GIF or WebP, up to 5 MB. The picture is cropped square and stripped of metadata such as location."},
	"me.avatar.upload":       {"上传头像", "Upload avatar"},
	"me.avatar.remove":       {"删除头像", "Remove avatar"},
	"me.password.title":      {"登录密码", "Password"},
	"me.password.lead.set":   {"您已设置密码。修改时需要输入当前密码。", "You have a password. Changing it needs the current one."},
	"me.password.lead.unset": {"您还没有设置密码，设置后也可以用密码登录。", "You have no password yet; set one to log in with it too."},
	"me.password.current":    {"当前密码", "Current password"},
	"me.password.new":        {"新密码", "New password"},
	"me.password.confirm":    {"再次输入新密码", "New password again"},
	"me.password.rule":       {"至少 8 个字符，包含小写字母、大写字母、数字、符号中的三类；或至少 16 个任意字符。", "At least 8 characters from three of lower case, upper case, digits and symbols, or at least 16 characters of any kind."},
	"me.password.mismatch":   {"两次输入的密码不一致", "the two passwords differ"},
	"me.password.submit":     {"保存密码", "Save password"},
	"me.sessions.link":       {"管理登录设备", "Manage sessions"},
	"me.avatar.missing":      {"请选择一张图片", "choose a picture"},

	"sessions.title":         {"登录设备", "Sessions"},
	"sessions.lead":          {"这些是您的账号当前登录的地方。不认识的可以退出。", "These are the places where your account is logged in. Log out any you do not recognise."},
	"sessions.kind.web":      {"网页", "Web browser"},
	"sessions.kind.app":      {"App", "App"},
	"sessions.current":       {"当前设备", "This device"},
	"sessions.created":       {"登录于", "Logged in"},
	"sessions.last_seen":     {"最近活动", "Last active"},
	"sessions.user_agent":    {"浏览器 / 设备", "Browser / device"},
	"sessions.unknown_agent": {"未知", "Unknown"},
	"sessions.revoke":        {"退出此设备", "Log out this session"},
	"sessions.revoke_others": {"退出其他所有设备", "Log out all other sessions"},
	"sessions.none_other":    {"没有其他登录设备。", "There are no other sessions."},
	"sessions.time_zone":     {"时间为北京时间（UTC+8）。", "Times are China Standard Time (UTC+8)."},

	// The age question of a sign-up (policy section 7, P70).
	"login.age":          {"年龄（注册新账号时必填）", "Age (required for a new account)"},
	"login.age.choose":   {"请选择", "Choose"},
	"login.age.adult":    {"18 周岁及以上", "18 or older"},
	"login.age.14_17":    {"14 至 17 周岁", "14 to 17"},
	"login.age.under_14": {"未满 14 周岁", "Under 14"},
	"login.age.hint":     {"未满 18 周岁的用户请在父母或其他监护人陪同下阅读并同意隐私政策。未满 14 周岁的用户还需监护人通过短信验证码同意，%d 天内未同意的账号及其信息将被删除。", "If you are under 18, read and accept the privacy policy together with a parent or guardian. Under 14, a guardian must also agree with a code sent by SMS; an account without that agreement within %d days is deleted with its information."},
	"login.guardian_ack": {"我未满 18 周岁，已在父母或其他监护人陪同下阅读并同意隐私政策。", "I am under 18 and read and accepted the privacy policy together with a parent or guardian."},

	"flash.profile":         {"资料已保存。", "Your profile is saved."},
	"flash.avatar":          {"头像已更新。", "Your avatar is updated."},
	"flash.avatar_removed":  {"头像已删除。", "Your avatar is removed."},
	"flash.password":        {"密码已保存。", "Your password is saved."},
	"flash.revoked":         {"该设备已退出登录。", "That session is logged out."},
	"flash.revoked_others":  {"其他设备已全部退出登录。", "All other sessions are logged out."},
	"flash.logged_out":      {"您已退出登录。", "You are logged out."},
	"flash.welcome":         {"登录成功。", "You are logged in."},
	"flash.welcome_created": {"欢迎加入云寻！您的账号已创建。", "Welcome to Yuncan! Your account is created."},

	"error.title":        {"出错了", "Something is wrong"},
	"error.400":          {"请求有误", "Bad request"},
	"error.401":          {"请先登录", "Please log in"},
	"error.403":          {"操作被拒绝", "Not allowed"},
	"error.404":          {"页面不存在", "Page not found"},
	"error.413":          {"内容太大", "Too large"},
	"error.415":          {"格式不支持", "Unsupported format"},
	"error.429":          {"操作太频繁", "Too many requests"},
	"error.500":          {"服务器出错", "Server error"},
	"error.503":          {"服务暂不可用", "Service unavailable"},
	"error.csrf":         {"表单已过期或来源不明，请返回刷新页面后重试。", "The form has expired or did not come from this site. Go back, reload the page and try again."},
	"error.not_found":    {"找不到您要的页面。", "The page you asked for does not exist."},
	"error.internal":     {"我们这边出了点问题，请稍后再试。", "Something went wrong on our side; try again later."},
	"error.unavailable":  {"服务暂时不可用，请稍后再试。", "The service is unavailable for the moment; try again later."},
	"error.rate_limited": {"操作太频繁，请 %s 后再试。", "Too many attempts; try again in %s."},

	// Service errors the pages translate, by reason.
	"reason.code_invalid":               {"验证码错误或已过期，请重新获取。", "The code is wrong or has expired; ask for a new one."},
	"reason.code_expired":               {"验证码已过期，请重新获取。", "The code has expired; ask for a new one."},
	"reason.code_used":                  {"验证码已使用过，请重新获取。", "This code was used already; ask for a new one."},
	"reason.code_attempts_exceeded":     {"错误次数太多，请重新获取验证码。", "Too many wrong tries; ask for a new code."},
	"reason.invalid_phone":              {"请输入有效的手机号。", "Enter a valid mobile number."},
	"reason.policy_acceptance_required": {"注册新账号需要同意隐私政策。", "A new account must accept the privacy policy."},
	"reason.policy_version_stale":       {"隐私政策已更新，请刷新页面后重新阅读。", "The privacy policy has changed; reload the page and read it again."},
	"reason.invalid_credentials":        {"手机号或密码错误。", "The mobile number or password is wrong."},
	"reason.login_locked":               {"密码登录失败次数太多，已暂时锁定；仍可用验证码登录。", "Too many failed logins; password login is locked for a while (a code login still works)."},
	"reason.sms_unavailable":            {"验证码暂时无法发送，请稍后再试。", "The code could not be sent; try again later."},
	"reason.weak_password":              {"密码强度不够。", "The password is too weak."},
	"reason.image_too_large":            {"图片太大。", "The image is too large."},
	"reason.image_too_many_pixels":      {"图片像素太多。", "The image has too many pixels."},
	"reason.image_corrupt":              {"图片已损坏或不完整。", "The image is damaged or incomplete."},
	"reason.unsupported_image_type":     {"请上传 JPEG、PNG、GIF 或 WebP 图片。", "Upload a JPEG, PNG, GIF or WebP image."},

	// The age question of a sign-up (P70).
	"reason.age_required":                      {"注册新账号需要选择年龄。", "A new account must give its age."},
	"reason.guardian_acknowledgement_required": {"未满 18 周岁的用户需确认已在监护人陪同下阅读并同意隐私政策。", "If you are under 18, confirm that you read the policy together with a parent or guardian."},
}

// problemsZH translates the per-field problems the services report (in
// English) for Chinese pages; an unknown problem is shown as it came.
var problemsZH = map[string]string{
	"is required":                                          "必填",
	"is not a phone number":                                "不是有效的手机号",
	"is not a valid phone number":                          "不是有效的手机号",
	"is not a mobile number that can receive SMS":          "不是能接收短信的手机号",
	"must be 6 digits":                                     "应为 6 位数字",
	"is wrong or has expired":                              "验证码错误或已过期",
	"has expired":                                          "已过期",
	"was used already":                                     "已被使用过",
	"give either a code or a password":                     "请输入验证码",
	"a new account must accept the current privacy policy": "注册新账号需要同意隐私政策",
	"is not the current policy version":                    "不是当前的政策版本，请刷新页面",
	"give a birth date or an age band":                     "请选择年龄",
	"must be adult, 14_17 or under_14":                     "请选择年龄",
	"confirm that a guardian read the policy with you":     "请确认已在监护人陪同下阅读",
	"must not be blank":                                    "不能为空",
	"is longer than the limit":                             "超出长度限制",
	"contains control characters":                          "含有不允许的控制字符",
	"is not valid UTF-8":                                   "含有无效字符",
	"must be female, male or other":                        "请选择女、男或其他",
	"must be a date as YYYY-MM-DD":                         "日期格式应为 YYYY-MM-DD",
	"is in the future":                                     "不能晚于今天",
	"is before 1900":                                       "不能早于 1900 年",
	"is wrong":                                             "不正确",
	"is required and cannot be cleared":                    "必填，不能清空",
	"is longer than 128 characters":                        "不能超过 128 个字符",
	"is a well-known password":                             "这是常见密码，容易被猜到",
	"is missing from the form":                             "请选择一张图片",
	"needs at least 8 characters from three of: lower case, upper case, digits, symbols (or 16 characters of any kind)": "至少 8 个字符且包含小写字母、大写字母、数字、符号中的三类，或至少 16 个任意字符",
}

// formErrors is what a form shows after the service refused it: one
// message above the form and a problem beside each named field.
type formErrors struct {
	Message string
	Fields  map[string]string
	Status  int
}

// Field returns the problem with one field, "" when none.
func (f formErrors) Field(name string) string { return f.Fields[name] }

// Any reports whether there is anything to show.
func (f formErrors) Any() bool { return f.Message != "" || len(f.Fields) > 0 }

// formErr turns a service error into what a form shows, in lang. The
// user sees the error's safe message (translated where the reason is
// known), never err.Error(); 5xx causes are logged.
func (s *Server) formErr(r *http.Request, lang string, err error) formErrors {
	e := yuncan.AsError(err)
	status := statusOf(e.Code)
	if status >= 500 {
		s.logPageError(r, e, err)
	}
	fe := formErrors{Status: status, Message: errText(lang, e)}
	if len(e.Fields) > 0 {
		fe.Fields = make(map[string]string, len(e.Fields))
		for f, p := range e.Fields {
			fe.Fields[f] = problemText(lang, p)
		}
		if len(e.Fields) > 1 || !hasMessage("reason."+e.Reason) {
			fe.Message = translate(lang, "form.fix_fields")
		}
	}
	return fe
}

// errText is the message a page shows for e.
func errText(lang string, e *yuncan.Error) string {
	if e.Reason != "" && hasMessage("reason."+e.Reason) {
		return translate(lang, "reason."+e.Reason)
	}
	switch e.Code {
	case yuncan.Internal:
		return translate(lang, "error.internal")
	case yuncan.Unavailable:
		return translate(lang, "error.unavailable")
	case yuncan.RateLimited:
		return translate(lang, "error.rate_limited", waitText(lang, e.RetryAfter))
	case yuncan.NotFound:
		return translate(lang, "error.not_found")
	}
	if statusOf(e.Code) >= 500 {
		return translate(lang, "error.internal")
	}
	if e.Message == "" {
		return translate(lang, "error.title")
	}
	return e.Message
}

func problemText(lang, problem string) string {
	if lang == langZH {
		if zh, ok := problemsZH[problem]; ok {
			return zh
		}
		return problem
	}
	return capitalize(problem)
}

// waitText says how long to wait, rounded up to seconds or minutes.
func waitText(lang string, d time.Duration) string {
	if d <= 0 {
		d = time.Minute
	}
	if d < 2*time.Minute {
		n := int(math.Ceil(d.Seconds()))
		if lang == langEN {
			return fmt.Sprintf("%d seconds", n)
		}
		return fmt.Sprintf("%d 秒", n)
	}
	n := int(math.Ceil(d.Minutes()))
	if lang == langEN {
		return fmt.Sprintf("%d minutes", n)
	}
	return fmt.Sprintf("%d 分钟", n)
}

// htmlLang is the lang attribute of a page in lang.
func htmlLang(lang string) string {
	if lang == langEN {
		return "en"
	}
	return "zh-CN"
}

// chinaTime is the zone the pages show times in: China keeps UTC+8 all
// year, so a fixed zone needs no time zone database.
var chinaTime = time.FixedZone("CST", 8*60*60)

func pageTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chinaTime).Format("2006-01-02 15:04")
}

// capitalize upper-cases the first letter of an English message.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
