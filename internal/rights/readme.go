package rights

import (
	"fmt"
	"strings"
)

// tableText says, in Chinese and English, what each exported table is.
var tableText = map[string][2]string{
	"users":                   {"账号与个人资料（手机号已解密）", "Your account and profile (phone number decrypted)"},
	"policy_acceptances":      {"您接受隐私政策的记录", "When you accepted which privacy policy"},
	"sms_codes":               {"发送到您手机的验证码记录（不含验证码）", "SMS codes sent to your number (without the codes)"},
	"devices":                 {"您登录过的设备", "Devices you used"},
	"sessions":                {"登录会话", "Login sessions"},
	"web_push_subscriptions":  {"浏览器推送订阅（不含密钥）", "Browser push subscriptions (without their keys)"},
	"consent_events":          {"同意记录：每次同意与撤回", "Consent history: every grant and withdrawal"},
	"consent_state":           {"当前同意状态", "Your current consents"},
	"consent_purges":          {"撤回同意后的删除任务", "Deletions run after a withdrawal"},
	"exemption_uses":          {"依法无需同意的处理记录", "Processing under a legal exemption from consent"},
	"sharing_ledger":          {"谁收到了您的信息：向第三方提供的记录（字段名称，不含内容）", "Who received your data: what went to third parties (field names, not values)"},
	"guardian_consents":       {"监护人同意（不含监护人号码）", "Guardian consent (without the guardian's number)"},
	"guardian_requests":       {"监护人关于您的请求（不含监护人号码）", "Guardians' requests about you (without their number)"},
	"privacy_settings":        {"隐私设置", "Privacy settings"},
	"real_names":              {"实名认证（已解密）", "Real-name verification (decrypted)"},
	"real_name_attempts":      {"实名认证尝试次数", "Real-name verification attempts"},
	"location_positions":      {"用于寻人提醒的位置（已解密）", "Your location for people-seeking alerts (decrypted)"},
	"notifications":           {"消息中心", "Your inbox"},
	"notification_deliveries": {"推送投递记录", "Push deliveries"},
	"notification_shields":    {"推送屏蔽与偏好", "Push shields and preferences"},
	"partner_staff":           {"合作机构成员身份", "Partner organisation membership"},
	"cases":                   {"您发布的寻人案件，含私密信息（已解密）", "Cases you reported, with their private fields (decrypted)"},
	"case_events":             {"您案件的状态历史（审核人员不具名）", "Your cases' history (staff not named)"},
	"case_photos":             {"您案件的照片", "Your cases' photos"},
	"clues":                   {"您提交的线索（已解密）", "Clues you sent (decrypted)"},
	"clue_photos":             {"您线索的照片", "Your clues' photos"},
	"relay_messages":          {"匿名沟通：您发出和收到的消息（对方不具名）", "Masked relay: messages you sent and received (the other side not named)"},
	"alerts":                  {"您案件的提醒中心点（已解密）", "Alert centres of your cases (decrypted)"},
	"alert_rings":             {"您案件提醒的扩散圈", "Rings of your cases' alerts"},
	"alert_recipients":        {"您收到的寻人提醒", "People-seeking alerts you received"},
	"tickets":                 {"投诉、举报与请求（已解密）", "Complaints, reports and requests (decrypted)"},
	"ticket_messages":         {"工单往来回复（工作人员不具名）", "Ticket replies (staff not named)"},
	"ticket_events":           {"工单处理历史", "Ticket history"},
	"policy_versions":         {"您发布的政策版本（工作人员）", "Policy versions you published (staff)"},
	"export_requests":         {"您的数据导出请求", "Your data export requests"},
}

func readme(m manifest) string {
	var b strings.Builder
	b.WriteString("# 我的数据 / My data — Yuncan\n\n")
	fmt.Fprintf(&b, "导出编号 Export: %s\n生成时间 Created: %s\n\n", m.ExportID, m.CreatedAt)
	b.WriteString("本压缩包包含云参保存的与您有关的全部个人信息（《个人信息保护法》第四十五条）。" +
		"`data/` 下每个 JSON 文件对应一张数据表，每个对象是一行；加密字段已解密，时间为 UTC（RFC 3339），空值为 null。" +
		"其他人的信息（例如工作人员、匿名沟通的对方、监护人的号码）以及密码散列、令牌等安全凭据不包含在内。" +
		"`media/` 下是您上传的原始文件。`manifest.json` 列出每个文件。\n\n")
	b.WriteString("This archive holds all the personal information Yuncan keeps about you (PIPL Art. 45). " +
		"Each JSON file under `data/` is one table, each object one row; sealed values are decrypted, times are UTC " +
		"(RFC 3339), unset values null. Other people's information (staff, the other side of a relay thread, a guardian's " +
		"number) and security secrets (password hashes, tokens) are left out. `media/` holds the files you uploaded, " +
		"as stored. `manifest.json` lists every file.\n\n")
	b.WriteString("| 文件 File | 行数 Rows | 内容 | Contents |\n|---|---|---|---|\n")
	for _, t := range m.Tables {
		txt := tableText[t.Table]
		if txt[0] == "" {
			txt = [2]string{t.Table, t.Table}
		}
		if t.Left != "" {
			fmt.Fprintf(&b, "| — (%s) | — | 未导出 | not exported: %s |\n", t.Table, t.Left)
			continue
		}
		fmt.Fprintf(&b, "| data/%s.json | %d | %s | %s |\n", t.Table, t.Rows, txt[0], txt[1])
	}
	fmt.Fprintf(&b, "\n媒体文件 Media files: %d\n", len(m.Files))
	if len(m.Missing) > 0 {
		fmt.Fprintf(&b, "\n已不存在的文件 Files no longer stored: %s\n", strings.Join(m.Missing, ", "))
	}
	return b.String()
}
