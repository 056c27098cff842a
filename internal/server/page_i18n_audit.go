package server

// The messages of the staff console's audit log (page_audit.go), kept
// beside the rest of messages: {Chinese, English}.
var auditMessages = map[string][2]string{
	"nav.audit": {"审计日志", "Audit log"},

	"audit.title":      {"审计日志", "Audit log"},
	"audit.lead":       {"工作人员查看和处理个人信息的每一次操作都记录在这里，按哈希链相连，任何修改或删除都会被发现。您查看此页面本身也会被记录。记录保存 3 年，到期后从链首删除，并保留锚点以便继续校验。", "Every time staff read personal data or act on it is recorded here, linked in a hash chain so that any change or deletion shows. Looking at this page is recorded too. Records are kept 3 years, then removed from the start of the chain, leaving an anchor so that verification still holds."},
	"audit.admin_only": {"只有管理员可以查看审计日志。", "Only admins may look at the audit log."},

	"audit.filter.title":       {"筛选", "Filter"},
	"audit.filter.actor":       {"操作人账号", "Staff account"},
	"audit.filter.target_kind": {"对象类型", "Target kind"},
	"audit.filter.target_id":   {"对象编号", "Target id"},
	"audit.filter.since":       {"起始时间（含）", "From (inclusive)"},
	"audit.filter.until":       {"截止时间（不含）", "Until (exclusive)"},
	"audit.filter.time_hint":   {"北京时间（UTC+8）。", "China Standard Time (UTC+8)."},
	"audit.filter.submit":      {"筛选", "Filter"},
	"audit.filter.clear":       {"清除筛选", "Clear the filter"},

	"audit.col.seq":    {"序号", "No."},
	"audit.col.at":     {"时间", "Time"},
	"audit.col.actor":  {"操作人", "Staff"},
	"audit.col.action": {"操作", "Action"},
	"audit.col.target": {"对象", "Target"},
	"audit.col.reason": {"理由", "Reason"},
	"audit.col.hash":   {"哈希", "Hash"},
	"audit.empty":      {"没有符合条件的记录。", "No entries match."},
	"audit.more":       {"更早的记录", "Older entries"},

	"audit.role.user":      {"用户", "User"},
	"audit.role.moderator": {"审核人员", "Moderator"},
	"audit.role.admin":     {"管理员", "Admin"},
	"audit.role.none":      {"（旧记录，无角色）", "(older entry, no role)"},

	"audit.verify.title":         {"校验哈希链", "Verify the chain"},
	"audit.verify.lead":          {"从锚点（尚未删除过记录时为第 1 条）开始逐条重新计算哈希，报告第一处不成立的链接。请把结果中的最新序号和哈希另行保存（例如发到另一个系统），以便发现整条链被重写。", "Recomputes every hash from the anchor (entry 1 until records were first removed) and reports the first link that does not hold. Keep the head's number and hash somewhere else (another system, say), so that a rewrite of the whole chain shows."},
	"audit.verify.submit":        {"校验哈希链", "Verify the chain"},
	"audit.verify.ok":            {"哈希链完整：已校验 %d 条记录。", "The chain holds: %d entries checked."},
	"audit.verify.broken":        {"哈希链在第 %d 条记录处断开：该记录被修改、缺失或被重新链接。", "The chain is broken at entry %d: it was changed, is missing, or was relinked."},
	"audit.verify.broken_link":   {"查看该处的记录", "Show the entries there"},
	"audit.verify.checked":       {"已校验记录", "Entries checked"},
	"audit.verify.head":          {"最新记录", "Head"},
	"audit.verify.anchor":        {"锚点", "Anchor"},
	"audit.verify.no_anchor":     {"无（尚未删除过到期记录，从第 1 条开始校验）", "None (no records removed yet: checked from entry 1)"},
	"audit.verify.anchor_pruned": {"第 %d 条，%s 删除到期记录时设置", "Entry %d, set when expired records were removed on %s"},
}

// auditProblemsZH translates the audit filter's field problems.
var auditProblemsZH = map[string]string{
	"is not a date and time":           "不是有效的日期和时间",
	"is not a cursor":                  "翻页参数无效",
	"must be after since":              "截止时间应晚于起始时间",
	"must be between 1 and 500":        "应在 1 到 500 之间",
	"must have at most 100 characters": "最多 100 个字符",
}

func init() {
	for k, m := range auditMessages {
		if _, dup := messages[k]; dup {
			panic("server: message " + k + " is defined twice")
		}
		messages[k] = m
	}
	for k, m := range auditProblemsZH {
		if _, dup := problemsZH[k]; !dup {
			problemsZH[k] = m
		}
	}
}
