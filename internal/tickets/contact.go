package tickets

// Text is a message in both page languages.
type Text struct{ ZH, EN string }

// Contact is the channels of policy section 9 besides the in-app
// feedback: requests arriving there are logged as tickets (P73).
type Contact struct {
	// Email is the address of section 9a.
	Email string
	// WeChat is the official account of section 9b.
	WeChat string
}

// DefaultContact is what the policy in force names.
var DefaultContact = Contact{Email: "chensiqiang@xiaoqikeji.com.cn", WeChat: "云寻 (Yun Chan)"}

// DefaultRegulator is the route to complain to the regulator that every
// refusal names (PIPL art. 50 and GB/T 35273-2020 §8.7: a refusal states
// its reason and the external route to complain).
var DefaultRegulator = Text{
	ZH: "如您对处理结果不满意，可以向网信部门投诉、举报（国家互联网信息办公室违法和不良信息举报中心：网站 www.12377.cn，电话 12377），也可以依法向人民法院提起诉讼。",
	EN: "If you are not satisfied with this outcome, you may complain to the cyberspace administration (the CAC Illegal and Harmful Information Reporting Center: www.12377.cn, phone 12377), or bring a lawsuit before a people's court.",
}

// ContactInfo is what GET /api/v1/privacy/contact tells (P73): every way
// to reach the operator about personal information, how long an answer
// may take, and where to turn after a refusal.
type ContactInfo struct {
	Contact
	// DueWorkdays is the promised time to answer, in working days.
	DueWorkdays int
	Regulator   Text
}

// ContactInfo returns the channels and the answer time in force.
func (s *Service) ContactInfo() ContactInfo {
	return ContactInfo{Contact: s.cfg.Contact, DueWorkdays: s.cfg.DueWorkdays, Regulator: s.cfg.Regulator}
}
