package server

// The messages of "who received my data" (page_sharing.go), kept beside
// the rest of messages: {Chinese, English}.
var sharingMessages = map[string][2]string{
	"privacy.center.disclosures": {"谁收到了我的信息", "Who received my data"},

	"sharing.title":     {"谁收到了我的信息", "Who received my data"},
	"sharing.lead":      {"每一次我们把您的个人信息提供给第三方（短信服务商、实名认证服务商、推送服务等），都会在这里留下记录：接收方、目的、提供了哪些信息（只记名称，不记内容）、依据和时间。记录保存 3 年。", "Every time we hand personal data about you to a third party (the SMS provider, the real-name certifier, push services and others), it is recorded here: who received it, for what purpose, which items (by name only, never their content), on what basis, and when. The record is kept for 3 years."},
	"sharing.none":      {"还没有向第三方提供过您的信息。", "No data about you has gone to a third party yet."},
	"sharing.when":      {"时间", "When"},
	"sharing.recipient": {"接收方", "Recipient"},
	"sharing.purpose":   {"目的", "Purpose"},
	"sharing.fields":    {"提供的信息", "What was provided"},
	"sharing.basis":     {"依据", "Basis"},
	"sharing.abroad":    {"（境外，经您单独同意）", "(outside China, with your separate consent)"},
	"sharing.older":     {"更早的记录", "Older entries"},
	"sharing.newest":    {"回到最新", "Back to the newest"},
	"sharing.inventory": {"全部第三方及其接收的信息见个人信息清单。", "Every third party and what it may receive is listed in the personal information inventory."},

	"sharing.basis.consent":   {"您的同意", "Your consent"},
	"sharing.basis.necessary": {"提供您要求的服务所必需（《个人信息保护法》第十三条第一款第二项）", "Necessary for the service you asked for (PIPL Art. 13(1)(2))"},
	"sharing.basis.exemption": {"法定免于同意情形 %s：%s", "Legal exemption %s: %s"},

	"sharing.field.phone":             {"手机号", "Phone number"},
	"sharing.field.code":              {"验证码", "Verification code"},
	"sharing.field.real_name":         {"真实姓名", "Real name"},
	"sharing.field.id_number":         {"身份证号", "ID number"},
	"sharing.field.push_token":        {"设备推送标识", "Device push token"},
	"sharing.field.push_endpoint":     {"浏览器推送地址", "Browser push address"},
	"sharing.field.encrypted_payload": {"加密的通知内容（服务商无法读取）", "Encrypted notification (the service cannot read it)"},
	"sharing.field.title":             {"通知标题", "Notification title"},
	"sharing.field.body":              {"通知内容", "Notification text"},
	"sharing.field.data":              {"通知附带的编号和链接", "The notification's ids and link"},
	"sharing.field.lat":               {"纬度", "Latitude"},
	"sharing.field.lng":               {"经度", "Longitude"},
	"sharing.field.ad_id":             {"轮换的广告标识", "Rotating advertising id"},
	"sharing.field.interest_tags":     {"兴趣标签", "Interest tags"},
	"sharing.field.pseudonym":         {"假名标识", "Pseudonym"},
	"sharing.field.event_type":        {"行为类型", "Event type"},
	"sharing.field.item_id":           {"内容编号", "Item id"},
	"sharing.field.at":                {"时间", "Time"},
}

func init() {
	for k, m := range sharingMessages {
		if _, dup := messages[k]; dup {
			panic("server: message " + k + " is defined twice")
		}
		messages[k] = m
	}
}
