package server

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
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

	// The privacy center (/me/privacy) and the public privacy pages.
	"nav.privacy":           {"隐私中心", "Privacy center"},
	"privacy.center.title":  {"隐私中心", "Privacy center"},
	"privacy.center.lead":   {"在这里管理您的同意和隐私设置，查看隐私政策及其历史版本，以及您每一次选择的记录。", "Manage your consents and privacy settings, see the privacy policy and its history, and the record of every choice you made."},
	"privacy.center.toc":    {"本页内容", "On this page"},
	"privacy.notice.title":  {"隐私政策已更新", "The privacy policy has changed"},
	"privacy.notice.held":   {"在您接受新版本之前，以下功能暂停：%s。", "Until you accept the new version, these functions are paused: %s."},
	"privacy.notice.accept": {"我已阅读并接受新版本", "I have read it and accept"},
	"privacy.notice.read":   {"阅读新版本全文", "Read the new version in full"},

	"privacy.consents.title":           {"同意管理", "Consents"},
	"privacy.consents.lead":            {"接受隐私政策不会开启任何可选功能。下面每项可选功能都需要您单独同意，并可随时撤回；撤回后我们停止收集和使用相关信息。拒绝某一项只影响需要它的功能。", "Accepting the privacy policy switches on no optional function. Each one below needs your own consent, which you can withdraw at any time; after a withdrawal we stop collecting and using that information. Refusing one affects only the function that needs it."},
	"privacy.consents.optional":        {"可选功能（未经您同意不会开启）", "Optional functions (off until you agree)"},
	"privacy.consents.necessary":       {"基本服务所需", "Needed for the basic service"},
	"privacy.consents.basic":           {"基本服务所需", "Needed for the basic service"},
	"privacy.consents.basic.hint":      {"接受隐私政策即涵盖，无需单独同意；如需停止，请注销账号。", "Covered by the privacy policy, with no separate consent; to stop it, cancel the account."},
	"privacy.consents.granted":         {"已同意", "Granted"},
	"privacy.consents.not_granted":     {"未同意", "Not granted"},
	"privacy.consents.sensitive":       {"敏感信息 · 需单独同意", "Sensitive — separate consent"},
	"privacy.consents.adults_only":     {"仅限 18 周岁及以上", "18 or older only"},
	"privacy.consents.section":         {"政策第 %s 条", "Policy section %s"},
	"privacy.consents.granted_at":      {"同意于 %s", "Granted %s"},
	"privacy.consents.withdrawn_at":    {"撤回于 %s", "Withdrawn %s"},
	"privacy.consents.grant":           {"同意", "Give consent"},
	"privacy.consents.grant_sensitive": {"单独同意", "Give separate consent"},
	"privacy.consents.withdraw":        {"撤回同意", "Withdraw consent"},
	"privacy.consents.of":              {"：%s", ": %s"},
	"privacy.consents.gpc":             {"您的浏览器发送了“全球隐私控制”（GPC）信号。在它发送期间，无论您如何选择，以下用途都不会进行：%s。", "Your browser sends the Global Privacy Control signal. While it does, these purposes do not run, whatever you choose: %s."},
	"privacy.consents.gpc_paused":      {"您已同意，但因浏览器的全球隐私控制信号暂停。", "Granted, but paused by your browser's Global Privacy Control signal."},

	"privacy.settings.title":                            {"隐私设置", "Privacy settings"},
	"privacy.settings.lead":                             {"勾选即开启，保存后立即生效，可随时更改。", "Ticked means on. Changes apply as soon as you save, and you can change them at any time."},
	"privacy.settings.social":                           {"别人如何找到和看到您", "How others find and see you"},
	"privacy.settings.consents":                         {"推荐、广告与营销", "Recommendations, ads and marketing"},
	"privacy.settings.consents.hint":                    {"这四项就是上面同名的同意项，在这里或上面更改效果相同。", "These four are the consents of the same names above: changing them here or there is the same."},
	"privacy.settings.save":                             {"保存设置", "Save settings"},
	"privacy.setting.recommend_me_to_contacts":          {"把我推荐给通讯录中有我手机号的人", "Recommend me to people who have my number in their contacts"},
	"privacy.setting.recommend_me_to_contacts.hint":     {"关闭时，您不会出现在任何人的通讯录好友匹配或“可能认识的人”中。", "Off: you never appear in anyone's contacts match or “people you may know”."},
	"privacy.setting.suggest_people_i_may_know":         {"向我推荐可能认识的人", "Show me people I may know"},
	"privacy.setting.suggest_people_i_may_know.hint":    {"关闭时，我们不向您推荐可能认识的人。", "Off: we show you no suggestions of people you may know."},
	"privacy.setting.show_identity_on_share_pages":      {"在分享页显示我的头像和昵称", "Show my avatar and nickname on share pages"},
	"privacy.setting.show_identity_on_share_pages.hint": {"关闭时，您分享出去的内容页面以匿名占位代替您的头像和昵称。", "Off: pages of content you share show an anonymous placeholder instead of your avatar and nickname."},
	"privacy.setting.personalized_recommendations":      {"个性化推荐", "Personalised recommendations"},
	"privacy.setting.personalized_recommendations.hint": {"关闭时，内容不再根据您的使用记录为您个性化推荐。", "Off: the feed is not personalised from how you use Yuncan."},
	"privacy.setting.programmatic_ads":                  {"程序化广告", "Programmatic advertising"},
	"privacy.setting.programmatic_ads.hint":             {"关闭时，广告数量不变，但只根据您正在浏览的内容选择，不使用您的兴趣或画像，因此相关性会降低。", "Off: as many ads show, chosen only from what you are viewing and never from your interests or profile, so they are less relevant."},
	"privacy.setting.marketing_push":                    {"营销推送通知", "Marketing push notifications"},
	"privacy.setting.marketing_push.hint":               {"关于营销活动的推送。交易和安全类通知不受影响。", "Notifications about marketing activities. Transactional and security notifications are not affected."},
	"privacy.setting.marketing_sms":                     {"营销短信", "Marketing SMS"},
	"privacy.setting.marketing_sms.hint":                {"也可以回复 TD 退订。登录验证码等服务短信不受影响。", "You can also reply TD to unsubscribe. Login codes and other service messages are not affected."},

	"privacy.policy.title":           {"隐私政策", "Privacy policy"},
	"privacy.policy.accepted":        {"您已接受现行版本。", "You have accepted the version in force."},
	"privacy.policy.accepted_on":     {"您已于 %s 接受现行版本。", "You accepted the version in force on %s."},
	"privacy.policy.not_accepted":    {"您还没有接受现行版本，请查看页面顶部的通知。", "You have not accepted the version in force yet: see the notice at the top of the page."},
	"privacy.policy.no_such_version": {"没有这个版本的隐私政策。", "There is no such version of the privacy policy."},
	"privacy.policy.read":            {"阅读现行隐私政策", "Read the privacy policy in force"},
	"privacy.policy.history":         {"隐私政策的历史版本", "Earlier versions of the policy"},
	"privacy.policy.inventory":       {"我们保存哪些信息、为什么", "What we hold and why"},

	"privacy.history.mine":            {"我的同意记录", "My consent history"},
	"privacy.history.lead":            {"您的每一次同意和撤回都记录在这里，最新的在前。", "Every consent you gave or withdrew, newest first."},
	"privacy.history.purpose":         {"用途", "Purpose"},
	"privacy.history.action":          {"操作", "Action"},
	"privacy.history.at":              {"时间", "Time"},
	"privacy.history.version":         {"政策版本", "Policy version"},
	"privacy.history.channel":         {"途径", "Channel"},
	"privacy.history.action.grant":    {"同意", "Granted"},
	"privacy.history.action.withdraw": {"撤回", "Withdrawn"},
	"privacy.history.channel.app":     {"App", "App"},
	"privacy.history.channel.web":     {"网页", "Web"},
	"privacy.history.channel.api":     {"接口", "API"},
	"privacy.history.empty":           {"还没有记录：您还没有同意或撤回过任何可选功能。", "Nothing yet: you have not given or withdrawn any consent."},

	"privacy.minors.title":               {"未成年人保护", "Minors"},
	"privacy.minors.under14":             {"您未满 14 周岁。在父母或其他监护人同意之前，所有可选功能保持关闭。", "You are under 14. Until a parent or guardian agrees, every optional function stays off."},
	"privacy.minors.deadline":            {"如果 %s 前仍没有监护人同意，账号及其信息将被删除。", "If no guardian agrees by %s, the account is deleted with its information."},
	"privacy.minors.sent":                {"验证码已于 %[2]s 发送至监护人手机 %[1]s。", "A code was sent to the guardian's phone %s at %s."},
	"privacy.minors.guardian_phone":      {"监护人手机号", "Guardian's mobile number"},
	"privacy.minors.guardian_phone.hint": {"请填写父母或其他监护人的手机号，不能是您自己的号码。我们会发送验证码给监护人。", "A parent's or guardian's number, not your own. We send the guardian a code."},
	"privacy.minors.send":                {"发送验证码给监护人", "Send a code to the guardian"},
	"privacy.minors.resend":              {"重新发送", "Send again"},
	"privacy.minors.code":                {"监护人收到的验证码", "The code the guardian received"},
	"privacy.minors.verify":              {"确认监护人同意", "Confirm the guardian's consent"},
	"privacy.minors.verified":            {"监护人已于 %s 同意。", "A guardian agreed on %s."},
	"privacy.minors.adults_only":         {"未满 18 周岁的用户不会收到广告和营销类功能。", "Advertising and marketing are not offered to anyone under 18."},

	"privacy.history.title":          {"隐私政策历史版本", "Privacy policy versions"},
	"privacy.history.versions_lead":  {"我们发布过的每一版隐私政策，最新的在前。", "Every version of the privacy policy we published, newest first."},
	"privacy.version.title":          {"隐私政策版本", "Privacy policy version"},
	"privacy.version.title_of":       {"隐私政策 · 版本 %s", "Privacy policy · version %s"},
	"privacy.version.in_force":       {"现行版本", "In force"},
	"privacy.version.upcoming":       {"即将生效", "Coming"},
	"privacy.version.upcoming_on":    {"此版本将于 %s 生效。", "This version takes effect on %s."},
	"privacy.version.replaced":       {"此版本已被更新的版本取代。", "A newer version has replaced this one."},
	"privacy.version.effective":      {"生效日期：%s", "Effective: %s"},
	"privacy.version.reduces_rights": {"此版本涉及您的权利变化，需要您重新同意。", "This version changes your rights and needs your acceptance."},
	"privacy.version.adds_purposes":  {"此版本新增了处理目的，需要您重新同意。", "This version adds purposes and needs your acceptance."},
	"privacy.version.changed":        {"涉及：%s。", "Concerns: %s."},
	"privacy.version.read":           {"阅读版本 %s 全文", "Read version %s in full"},
	"privacy.version.all":            {"← 所有版本", "← All versions"},
	"privacy.version.summary":        {"本版本的变化", "What changed"},
	"privacy.version.english_only":   {"此版本仅有英文文本。", "This version exists in English only."},

	"privacy.inventory.title":              {"我们保存什么、为什么", "What we hold and why"},
	"privacy.inventory.lead":               {"这是隐私政策的数据清单，逐项列出：每项用途收集哪些信息、依据什么、保存多久、提供给谁。", "The privacy policy's data list, item by item: for each purpose, what we collect, on what basis, how long we keep it and who receives it."},
	"privacy.inventory.version":            {"对应隐私政策版本 %s。", "For privacy policy version %s."},
	"privacy.inventory.purposes":           {"用途与信息", "Purposes and data"},
	"privacy.inventory.optional":           {"可选 · 需要您同意", "Optional — needs your consent"},
	"privacy.inventory.basis":              {"依据", "Basis"},
	"privacy.inventory.basis.necessary":    {"基本服务所需，接受隐私政策即涵盖", "Needed for the basic service; covered by the privacy policy"},
	"privacy.inventory.basis.consent":      {"您的同意，可随时撤回", "Your consent, which you can withdraw at any time"},
	"privacy.inventory.data":               {"信息与保存期限", "Data and how long it is kept"},
	"privacy.inventory.sensitive":          {"敏感", "sensitive"},
	"privacy.inventory.no_data":            {"目前没有为此用途保存的信息。", "Nothing is stored for this purpose at present."},
	"privacy.inventory.shared_with":        {"提供给", "Shared with"},
	"privacy.inventory.sep":                {"、", ", "},
	"privacy.inventory.no_recipients":      {"不提供给第三方", "No third party"},
	"privacy.inventory.third_parties":      {"第三方", "Third parties"},
	"privacy.inventory.third_parties.lead": {"接收个人信息的第三方、接收什么以及在哪里处理。", "The third parties that receive personal information, what they get and where they process it."},
	"privacy.inventory.for":                {"用途", "Purpose"},
	"privacy.inventory.receives":           {"接收的信息", "What it receives"},
	"privacy.inventory.deidentified":       {"去标识化后提供", "de-identified first"},
	"privacy.inventory.identified":         {"可识别到您", "identifies you"},
	"privacy.inventory.where":              {"处理地点", "Where"},
	"privacy.inventory.region_cn":          {"中国境内", "Mainland China"},
	"privacy.inventory.assessed":           {"最近一次安全评估", "Last security assessment"},
	"privacy.inventory.cookies":            {"Cookie", "Cookies"},
	"privacy.inventory.cookies.lead":       {"本网站只设置以下 Cookie，全部来自本站，没有第三方 Cookie。", "This site sets only these cookies, all its own; there are no third-party cookies."},
	"privacy.inventory.cookie.name":        {"名称", "Name"},
	"privacy.inventory.cookie.what":        {"作用", "What it does"},
	"privacy.inventory.cookie.lifetime":    {"有效期", "Lifetime"},
	"privacy.inventory.exemptions":         {"无需征得同意的法定情形", "When the law allows processing without consent"},
	"privacy.inventory.exemptions.lead":    {"根据法律法规，以下情形处理个人信息无需征得您的同意（隐私政策第 1.8 条）。我们每一次这样处理都会留存记录。", "Under the law, personal information may be processed without your consent in these cases (policy section 1.8). We keep a record of each such use."},

	// Refusals the privacy center words itself, by reason.
	"privacy.reason.consent_required":                 {"此功能需要您的同意，请先同意。", "This function needs your consent first."},
	"privacy.reason.adults_only":                      {"此功能不向未满 18 周岁的用户提供。", "This function is not offered to people under 18."},
	"privacy.reason.guardian_consent_required":        {"未满 14 周岁的用户需先取得父母或其他监护人的同意，见“未成年人保护”。", "Under 14, a parent's or guardian's consent comes first: see “Minors”."},
	"privacy.reason.policy_acceptance_required":       {"隐私政策已更新，接受新版本后才能使用此功能。", "The privacy policy changed how this works: accept the new version first."},
	"privacy.reason.purpose_necessary":                {"这是基本服务所需，无需单独同意；如需停止，请注销账号。", "This is needed for the basic service and needs no separate consent; to stop it, cancel the account."},
	"privacy.reason.sensitive_needs_separate_consent": {"敏感信息需要逐项单独同意。", "Sensitive information needs its own separate consent."},
	"privacy.reason.not_granted":                      {"此项尚未同意，无需撤回。", "This is not granted, so there is nothing to withdraw."},
	"privacy.reason.policy_version_stale":             {"该版本已被更新的版本取代，请阅读并接受现行版本。", "That version was replaced: read and accept the version in force."},
	"privacy.reason.policy_version_not_in_force":      {"该版本尚未生效，生效后才能接受。", "That version is not in force yet; it can be accepted from its effective date."},
	"privacy.reason.guardian_not_required":            {"只有未满 14 周岁的账号需要监护人同意。", "Only an account under 14 needs a guardian's consent."},
	"privacy.reason.guardian_already_verified":        {"监护人同意已经确认过了。", "A guardian's consent is confirmed already."},
	"privacy.reason.guardian_deadline_passed":         {"取得监护人同意的期限已过，账号即将被删除。", "The time for a guardian's consent has run out; the account is being deleted."},
	"privacy.reason.guardian_not_requested":           {"请先发送验证码给监护人。", "Send a code to the guardian first."},
	"privacy.reason.guardian_changed":                 {"监护人号码已更改，请重新发送验证码。", "The guardian's number changed meanwhile; send a new code."},
	"privacy.reason.guardian_phone_same":              {"请填写监护人自己的手机号，不能是您账号的号码。", "Enter the guardian's own number, not your account's."},

	"flash.consent_granted":   {"已记录您的同意。", "Your consent is recorded."},
	"flash.consent_withdrawn": {"已撤回同意，我们停止收集和使用相关信息。", "Consent withdrawn: we stop collecting and using that information."},
	"flash.privacy_settings":  {"隐私设置已保存。", "Your privacy settings are saved."},
	"flash.policy_accepted":   {"您已接受新版隐私政策。", "You accepted the new privacy policy."},
	"flash.guardian_sent":     {"验证码已发送给监护人。", "The code is on its way to the guardian."},
	"flash.guardian_verified": {"监护人同意已确认。", "The guardian's consent is confirmed."},
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
	"must be the guardian's own number, not the account's": "请填写监护人自己的手机号，不能是您账号的号码",
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

// longerThan is the service's problem with a text over its limit.
var longerThan = regexp.MustCompile(`^is longer than ([0-9]+) characters$`)

func problemText(lang, problem string) string {
	if lang == langZH {
		if zh, ok := problemsZH[problem]; ok {
			return zh
		}
		if m := longerThan.FindStringSubmatch(problem); m != nil {
			return "不能超过 " + m[1] + " 个字符"
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
