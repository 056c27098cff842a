package server

// The messages of the security incident console and the public
// announcements (page_incidents.go), kept beside the rest of messages:
// {Chinese, English}.
var incidentMessages = map[string][2]string{
	"nav.incidents":        {"安全事件", "Security incidents"},
	"footer.announcements": {"公告", "Announcements"},

	"incidents.admin_only": {"只有管理员可以处置安全事件。", "Only admins may handle security incidents."},
	"incidents.title":      {"个人信息安全事件", "Personal information security incidents"},
	"incidents.lead":       {"发生个人信息安全事件时，先启动应急预案，再在这里宣告事件：写明事件情况、可能的影响、已采取的措施、用户可以如何保护自己以及补救措施，并选择受影响的账号。系统会通过站内信和推送逐一告知受影响的用户；影响全体用户时同时发布公告。向监管部门报告的记录在宣告时即已生成。", "When a personal information security incident happens, start the emergency plan, then declare the incident here: what happened, the possible impact, the measures taken, what people can do to protect themselves and the remedies, and the accounts affected. Each affected person is told in the inbox and by push; when everyone is affected, an announcement is published as well. The record of the report to the regulator is made at declaration."},
	"incidents.list.title": {"已宣告的事件", "Declared incidents"},
	"incidents.list.empty": {"还没有宣告过安全事件。", "No incident has been declared."},
	"incidents.more":       {"更早的事件", "Older incidents"},
	"incidents.open":       {"查看", "Open"},

	"incidents.form.title":            {"宣告安全事件", "Declare an incident"},
	"incidents.form.severity":         {"事件级别", "Severity"},
	"incidents.form.occurred_at":      {"发生时间", "Occurred at"},
	"incidents.form.discovered_at":    {"发现时间", "Discovered at"},
	"incidents.form.discovered_hint":  {"北京时间（UTC+8）；留空即现在。", "China Standard Time (UTC+8); empty means now."},
	"incidents.form.time_hint":        {"北京时间（UTC+8），尽量准确。", "China Standard Time (UTC+8), as exactly as known."},
	"incidents.form.zh":               {"中文告知内容", "The notice in Chinese"},
	"incidents.form.en":               {"英文告知内容", "The notice in English"},
	"incidents.form.texts_hint":       {"至少填写一种语言，该语言的五项都必填；每项最多 %d 字，五项连同标题合计不超过 %d 字（一条站内信和推送的长度）。中文优先发送。", "Fill in at least one language, all five elements of it; each at most %d characters, the five with their labels at most %d (one inbox notice and push). Chinese goes out first."},
	"incidents.form.affected":         {"受影响的账号", "Accounts affected"},
	"incidents.form.affected_listed":  {"以下账号", "These accounts"},
	"incidents.form.affected_all":     {"全体用户（同时发布公告）", "Everyone (an announcement is published too)"},
	"incidents.form.affected_ids":     {"账号编号", "Account ids"},
	"incidents.form.affected_hint":    {"每行一个，或用逗号、空格分隔；最多 %d 个。", "One per line, or separated by commas or spaces; at most %d."},
	"incidents.form.authority":        {"报告对象（监管部门）", "Reported to (regulator)"},
	"incidents.form.authority_hint":   {"留空即：%s", "Empty means: %s"},
	"incidents.form.submit":           {"宣告并告知受影响的用户", "Declare and tell the people affected"},
	"incidents.form.confirm_all_hint": {"宣告后立即开始告知，无法撤回。", "Telling starts at once and cannot be undone."},

	"incidents.element.what_happened": {"事件情况", "What happened"},
	"incidents.element.impact":        {"可能的影响", "Possible impact"},
	"incidents.element.measures":      {"已采取或将要采取的处置措施", "Measures taken or to be taken"},
	"incidents.element.advice":        {"用户可自主防范、降低风险的建议", "What people can do to protect themselves"},
	"incidents.element.remedies":      {"对用户的补救措施", "Remedies for the people affected"},

	"incidents.severity.low":      {"一般", "Low (general)"},
	"incidents.severity.medium":   {"较大", "Medium (significant)"},
	"incidents.severity.high":     {"重大", "High (serious)"},
	"incidents.severity.critical": {"特别重大", "Critical (especially serious)"},
	"incidents.status.declared":   {"正在告知", "Telling the people affected"},
	"incidents.status.notified":   {"已全部告知", "Everyone affected is told"},
	"incidents.status.closed":     {"已结束", "Closed"},
	"incidents.scope.all":         {"全体用户（%d 个账号）", "Everyone (%d accounts)"},
	"incidents.scope.listed":      {"%d 个账号", "%d accounts"},

	"incidents.detail.title":        {"安全事件", "Security incident"},
	"incidents.detail.back":         {"返回安全事件列表", "Back to the incidents"},
	"incidents.field.status":        {"状态", "Status"},
	"incidents.field.severity":      {"级别", "Severity"},
	"incidents.field.occurred":      {"发生时间", "Occurred"},
	"incidents.field.discovered":    {"发现时间", "Discovered"},
	"incidents.field.declared":      {"宣告时间", "Declared"},
	"incidents.field.declared_by":   {"宣告人账号", "Declared by"},
	"incidents.field.scope":         {"影响范围", "Affected"},
	"incidents.field.closed":        {"结束时间", "Closed"},
	"incidents.field.announcement":  {"公告", "Announcement"},
	"incidents.progress.title":      {"告知进度", "Notification progress"},
	"incidents.progress.counts":     {"已告知 %d / %d 个账号，待告知 %d 个。", "%d of %d accounts told, %d to go."},
	"incidents.progress.done":       {"受影响的用户已全部告知（%s）。", "Everyone affected has been told (%s)."},
	"incidents.progress.running":    {"告知任务在后台分批进行，刷新页面查看进度。", "The job tells people in batches in the background; reload to see the progress."},
	"incidents.texts.title":         {"告知内容", "The notice"},
	"incidents.report.title":        {"向监管部门的报告", "Report to the regulator"},
	"incidents.report.authority":    {"报告对象", "Reported to"},
	"incidents.report.facts":        {"报告事实", "Facts reported"},
	"incidents.report.created":      {"记录生成时间", "Record made"},
	"incidents.report.pending":      {"尚未标记为已报送。", "Not yet marked submitted."},
	"incidents.report.submitted":    {"已于 %s 报送，文号：%s。", "Submitted %s, reference %s."},
	"incidents.report.submitted_by": {"标记人账号", "Marked by"},
	"incidents.report.reference":    {"报送文号或回执编号", "Reference given by the authority"},
	"incidents.report.at":           {"报送时间", "Submitted at"},
	"incidents.report.at_hint":      {"北京时间（UTC+8）；留空即现在。", "China Standard Time (UTC+8); empty means now."},
	"incidents.report.authority_in": {"报告对象（与记录不同时填写）", "Reported to (only if not as recorded)"},
	"incidents.report.submit":       {"标记为已报送", "Mark submitted"},
	"incidents.close.title":         {"结束事件", "Close the incident"},
	"incidents.close.hint":          {"受影响的用户全部告知后，处置完毕即可结束。", "Once everyone affected is told and the incident is handled, close it."},
	"incidents.close.submit":        {"结束事件", "Close the incident"},

	"announcements.title":        {"公告", "Announcements"},
	"announcements.lead":         {"影响全体用户的个人信息安全事件在这里公告，同时逐一告知每位用户。", "Personal information security incidents that affect everyone are announced here, and each user is told as well."},
	"announcements.empty":        {"目前没有公告。", "There are no announcements."},
	"announcements.more":         {"更早的公告", "Older announcements"},
	"announcements.kind":         {"个人信息安全事件公告", "Personal information security incident"},
	"announcements.published":    {"发布于 %s", "Published %s"},
	"announcements.occurred":     {"事件发生于 %s", "Occurred %s"},
	"announcements.back":         {"全部公告", "All announcements"},
	"announcements.contact":      {"如有疑问，请通过“帮助与反馈”联系我们。", "Questions? Reach us through Help & feedback."},
	"announcements.detail_title": {"安全事件公告", "Security incident announcement"},

	"flash.incident_declared":     {"事件已宣告，正在告知受影响的用户。", "The incident is declared; the people affected are being told."},
	"flash.incident_reported":     {"已标记为已报送监管部门。", "The report is marked submitted."},
	"flash.incident_closed":       {"事件已结束。", "The incident is closed."},
	"reason.report_submitted":     {"向监管部门的报告已标记为已报送。", "The report is marked submitted already."},
	"reason.notification_pending": {"受影响的用户还在告知中，全部告知后才能结束。", "The people affected are still being told; close it once they all are."},
	"reason.unknown_accounts":     {"部分账号编号不存在，请核对。", "Some account ids are not accounts; check them."},
	"reason.incident_changed":     {"事件刚刚有了变化，请刷新后重试。", "The incident changed meanwhile; reload and try again."},
}

// incidentProblemsZH translates the incidents area's field problems.
var incidentProblemsZH = map[string]string{
	"must be low, medium, high or critical":                      "请选择级别",
	"must not be in the future":                                  "不能晚于现在",
	"must not be before occurred_at":                             "不能早于发生时间",
	"is required: the five elements in Chinese, English or both": "请至少用一种语言填写五项内容",
	"must hold at most one text per language":                    "每种语言只能填写一份",
	"must be zh or en":                                           "语言应为中文或英文",
	"is given twice":                                             "重复",
	"must have at most 400 characters":                           "最多 400 字",
	"must be all or a list of account ids, not both":             "请选择全体用户或填写账号，二者选一",
	"is required: all, or the affected account ids":              "请选择全体用户或填写受影响的账号",
	"must list at most 20000 accounts; declare all for more":     "最多 20000 个账号；更多时请选择全体用户",
	"must hold account ids":                                      "请填写账号编号",
	"must be one line":                                           "只能填写一行",
	"must have at most 200 characters":                           "最多 200 字",
	"must not be before the incident was declared":               "不能早于事件宣告时间",
	"must be a date and time":                                    "请填写日期和时间",
	"holds ids that are not accounts":                            "有的账号编号不存在",
}

func init() {
	for k, m := range incidentMessages {
		if _, dup := messages[k]; dup {
			panic("server: message " + k + " is defined twice")
		}
		messages[k] = m
	}
	for k, m := range incidentProblemsZH {
		if _, dup := problemsZH[k]; !dup {
			problemsZH[k] = m
		}
	}
}
