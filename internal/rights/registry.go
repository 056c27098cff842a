package rights

// The registry (issue 5, "the mechanism first"): every table that holds
// personal data, how one person's rows are found, what the export leaves
// out, and what erasure does. internal/rights/registry_test.go
// fails when a table with a column of a personal category (datamap.json)
// is missing here, or when an entry names a table or column the schema
// does not have. An area that adds a table adds its entry here.

// Match says how one person's rows of a table are found.
type Match struct {
	// Column holds the person's user id, or (with In) a key of another
	// table.
	Column string
	// KindColumn, when set, makes Column a subject id: rows match when
	// KindColumn is "user" and Column the user id, or KindColumn is
	// "device" and Column one of the person's devices.
	KindColumn string
	// In, when set, means Column holds In.Key of the person's rows in
	// In.Table (for example clue photos through clues.author_id).
	In *Link
	// Or lists further ways a row belongs to the person.
	Or []Match
}

// Link is the person's rows of another table.
type Link struct {
	Table string
	Key   string
	Match Match
}

// Action is what erasure does with a person's rows.
type Action string

// Erasure actions.
const (
	Delete    Action = "delete"
	Anonymise Action = "anonymise" // blank Columns, keep the row
	Keep      Action = "keep"      // a legal record, for its category's legal period
)

// Erasure declares what cancellation (P66) will do with the rows.
type Erasure struct {
	Action Action
	// Columns are blanked by Anonymise.
	Columns []string
	// Basis is the law or reason a kept or anonymised row stays.
	Basis string
	// Category is the policy data's category of a kept row: its
	// retention there says how long the row stays (one rule, one place).
	Category string
	// Also, for a deleted table, are rows that go with the person's
	// although they are not theirs to export: what others added to the
	// person's content (clues and their photos on the person's cases,
	// alerts about those cases in other people's inboxes). Their files are
	// deleted too.
	Also *Match
}

// Table is one registry entry.
type Table struct {
	Name  string
	Match Match
	// Omit are columns left out of the export: secrets (hashes, tokens,
	// blind indexes) and other people's data (a guardian's number).
	Omit []string
	// Others are columns that name a person: kept in the export when they
	// name the person asking, blanked otherwise (staff, the other side of
	// a relay thread).
	Others []string
	// Media are columns holding keys of files in the media store.
	Media []string
	// NoExport leaves the whole table out of the export, for the reason
	// given (for example the security log).
	NoExport string
	Erase    Erasure
}

func user(col string) Match { return Match{Column: col} }

func subject(kindCol, idCol string) Match { return Match{Column: idCol, KindColumn: kindCol} }

func via(col, table, key string, m Match) Match {
	return Match{Column: col, In: &Link{Table: table, Key: key, Match: m}}
}

var (
	del         = Erasure{Action: Delete}
	myCases     = user("reporter_id")
	myDevices   = user("user_id")
	myTickets   = user("requester_id")
	myPhone     = via("phone_index", "users", "phone_index", user("id"))
	onMyCases   = via("case_id", "cases", "id", myCases)
	securityLog = Erasure{Action: Keep, Basis: "Cybersecurity Law Art. 21(3): network logs kept at least six months", Category: "audit_record"}
)

// Registry is every table holding personal data. The order is the order
// of the export.
var Registry = []Table{
	{Name: "users", Match: user("id"), Omit: []string{"phone_index", "password_hash"}, Media: []string{"avatar_key"}, Erase: del},
	{Name: "policy_acceptances", Match: user("user_id"), Erase: del},
	{Name: "sms_codes", Match: myPhone, Omit: []string{"phone_index", "code_mac", "ip_index"}, Erase: del},
	{Name: "devices", Match: user("user_id"), Omit: []string{"token_hash", "push_token"}, Erase: del},
	{Name: "sessions", Match: user("user_id"), Omit: []string{"token_hash"}, Erase: del},
	{Name: "web_push_subscriptions", Match: via("device_id", "devices", "id", myDevices), Omit: []string{"endpoint", "p256dh", "auth"}, Erase: del},
	{Name: "consent_events", Match: subject("subject_kind", "subject_id"), Erase: del},
	{Name: "consent_state", Match: subject("subject_kind", "subject_id"), Erase: del},
	{Name: "consent_purges", Match: subject("subject_kind", "subject_id"), Erase: del},
	{Name: "exemption_uses", Match: subject("subject_kind", "subject_id"),
		Erase: Erasure{Action: Keep, Basis: "PIPL Art. 13: record of processing without consent under a legal exemption", Category: "exemption_record"}},
	// The sharing ledger (P33): who received the person's data. Rows name
	// the account or one of its devices, or, for a code sent before the
	// account existed, only the number's blind index (left out of the
	// export). Kept as the record of provision to third parties.
	{Name: "sharing_ledger", Match: Match{Column: "subject_id", KindColumn: "subject_kind", Or: []Match{myPhone}}, Omit: []string{"phone_index"},
		Erase: Erasure{Action: Keep, Basis: "PIPL Art. 55-56: the record of providing personal data to others, kept 3 years", Category: "sharing_record"}},
	{Name: "guardian_consents", Match: user("user_id"), Omit: []string{"guardian_phone_sealed", "guardian_phone_index"}, Erase: del},
	{Name: "guardian_requests", Match: via("minor_phone_index", "users", "phone_index", user("id")),
		Omit: []string{"guardian_phone_sealed", "guardian_phone_index", "minor_phone_index", "ip_index"}, Erase: del},
	{Name: "privacy_settings", Match: user("user_id"), Erase: del},
	{Name: "real_names", Match: user("user_id"), Omit: []string{"id_number_index"}, Erase: del},
	{Name: "real_name_attempts", Match: user("user_id"), Erase: del},
	{Name: "location_positions", Match: subject("subject_kind", "subject_id"), Erase: del},
	{Name: "notifications", Match: subject("recipient_kind", "recipient_id"), Erase: Erasure{Action: Delete, Also: &onMyCases}},
	{Name: "notification_deliveries", Match: via("device_id", "devices", "id", myDevices), Erase: del},
	{Name: "notification_shields", Match: subject("subject_kind", "subject_id"), Erase: Erasure{Action: Delete, Also: &onMyCases}},
	{Name: "partner_staff", Match: user("user_id"), Others: []string{"added_by"}, Erase: del},
	{Name: "cases", Match: myCases, Others: []string{"verified_by"}, Erase: del},
	{Name: "case_events", Match: via("case_id", "cases", "id", myCases), Others: []string{"actor_id"}, Erase: del},
	{Name: "case_photos", Match: via("case_id", "cases", "id", myCases), Media: []string{"media_key"}, Erase: del},
	{Name: "clues", Match: user("author_id"), Others: []string{"reviewed_by"}, Erase: Erasure{Action: Delete, Also: &onMyCases}},
	{Name: "clue_photos", Match: via("clue_id", "clues", "id", user("author_id")), Media: []string{"media_key"},
		Erase: Erasure{Action: Delete, Also: &Match{Column: "clue_id", In: &Link{Table: "clues", Key: "id", Match: onMyCases}}}},
	// A relay thread is between a case's reporter and one giver: the
	// person gets what they wrote and what they received, in threads of
	// their cases or where they are the giver; the other side is not named.
	{Name: "relay_messages", Match: Match{Column: "giver_id", Or: []Match{via("case_id", "cases", "id", myCases)}},
		Others: []string{"giver_id", "sender_id"}, Erase: del},
	{Name: "alerts", Match: via("case_id", "cases", "id", myCases), Erase: del},
	{Name: "alert_rings", Match: via("alert_id", "alerts", "id", via("case_id", "cases", "id", myCases)), Erase: del},
	{Name: "alert_recipients", Match: subject("subject_kind", "subject_id"), Erase: Erasure{Action: Delete, Also: &onMyCases}},
	{Name: "tickets", Match: myTickets, Omit: []string{"guardian_access_index", "ip_index", "minor_phone_index"},
		Erase: Erasure{Action: Anonymise, Columns: []string{"requester_id", "text_sealed", "contact_sealed", "minor_phone_sealed", "minor_phone_index", "ip_index"},
			Basis: "PIPL Art. 50: how a complaint or rights request was handled stays, without the person"}},
	{Name: "ticket_messages", Match: via("ticket_id", "tickets", "id", myTickets), Others: []string{"author_id"}, Erase: del},
	{Name: "ticket_events", Match: via("ticket_id", "tickets", "id", myTickets), Others: []string{"actor_id"},
		Erase: Erasure{Action: Anonymise, Columns: []string{"actor_id"}, Basis: "PIPL Art. 50: the handling record of a request"}},
	{Name: "policy_versions", Match: user("published_by"), Erase: Erasure{Action: Anonymise, Columns: []string{"published_by"}, Basis: "the published policy text is public record"}},
	{Name: "audit_log", Match: Match{Column: "actor_id", Or: []Match{subject("target_kind", "target_id")}},
		NoExport: "the security log: would disclose staff and security measures; kept for its legal period", Erase: securityLog},
	{Name: "export_requests", Match: user("user_id"), Omit: []string{"token_hash"}, Erase: del},
	// Security incidents (P54): who was told is the person's and goes
	// with the account — the incident keeps the counts its regulator
	// report needs (PIPL Art. 47, 57); the incident and its report stay,
	// without the staff who acted, whose actions the audit log keeps.
	{Name: "incident_recipients", Match: user("user_id"), Erase: del},
	{Name: "incidents", Match: Match{Column: "declared_by", Or: []Match{user("closed_by")}},
		Erase: Erasure{Action: Anonymise, Columns: []string{"declared_by", "closed_by"},
			Basis: "PIPL Art. 57, Cybersecurity Law Art. 25: the record of a security incident and its handling"}},
	{Name: "incident_reports", Match: user("submitted_by"),
		Erase: Erasure{Action: Anonymise, Columns: []string{"submitted_by"}, Basis: "PIPL Art. 57: the record of the report to the regulator"}},
	{Name: "cancellations", Match: user("user_id"), Omit: []string{"pending"},
		Erase: Erasure{Action: Keep, Basis: "PIPL Art. 47: proof that the account was cancelled and its data deleted", Category: "cancellation_record"}},
}

// Lookup returns the registry entry of table.
func Lookup(table string) (Table, bool) {
	for _, t := range Registry {
		if t.Name == table {
			return t, true
		}
	}
	return Table{}, false
}
