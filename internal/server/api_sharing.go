package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/sharing"
)

// "Who received my data" (policy 3.1, P33): the caller's sharing ledger,
// newest first; and the de-identified statistics partners get (P36). The
// sharing area holds the rules (internal/sharing).

var errNoSharing = &yuncan.Error{Code: yuncan.Unavailable, Message: "the sharing ledger is not available on this server"}

// withSharing checks the ledger is wired.
func (s *Server) withSharing(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.sharing == nil {
			s.writeError(w, r, errNoSharing)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	})
}

type disclosureJSON struct {
	ID            string   `json:"id"`
	At            string   `json:"at"`
	Recipient     string   `json:"recipient"`
	RecipientName string   `json:"recipient_name"`
	Region        string   `json:"region"`
	Purpose       string   `json:"purpose"`
	PurposeName   string   `json:"purpose_name"`
	Fields        []string `json:"fields"`
	Basis         string   `json:"basis"`
	Exemption     *string  `json:"exemption"`
}

// disclosureOut names the recipient and purpose from the policy data in
// lang; an entry about a recipient the policy no longer declares keeps
// its id as its name.
func (s *Server) disclosureOut(e sharing.Entry, lang string) disclosureJSON {
	j := disclosureJSON{ID: e.ID, At: e.At.UTC().Format(time.RFC3339), Recipient: e.Recipient, RecipientName: e.Recipient,
		Purpose: string(e.Purpose), PurposeName: string(e.Purpose), Fields: e.Fields, Basis: string(e.Basis)}
	if j.Fields == nil {
		j.Fields = []string{}
	}
	if r := s.sharing.Recipient(e.Recipient); r != nil {
		j.RecipientName, j.Region = r.Name.In(lang), r.Region
	}
	if p := s.sharing.DataMap().Purpose(e.Purpose); p != nil {
		j.PurposeName = p.Name.In(lang)
	}
	if e.Exemption != "" {
		j.Exemption = &e.Exemption
	}
	return j
}

// handleDisclosureList lists who received the caller's data, a page at a
// time.
func (s *Server) handleDisclosureList() http.Handler {
	return s.withSharing(func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryLimit(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		es, next, err := s.sharing.Mine(r.Context(), authOf(r).User.ID, r.URL.Query().Get("cursor"), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		lang := apiLang(r)
		out := make([]disclosureJSON, 0, len(es))
		for _, e := range es {
			out = append(out, s.disclosureOut(e, lang))
		}
		encode(w, http.StatusOK, map[string]any{"disclosures": out, "next_cursor": strOrNil(next)})
	})
}

type statsGroupJSON struct {
	Week     string `json:"week"`
	Cell     string `json:"cell"`
	Category string `json:"category"`
	Status   string `json:"status"`
	Cases    int    `json:"cases"`
	Alerted  int    `json:"alerted"`
}

// statsDay reads a date parameter as the start of that day in China.
func statsDay(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, chinaTime)
	if err != nil {
		return time.Time{}, yuncan.FieldError(name, "must be a date, YYYY-MM-DD")
	}
	return t, nil
}

// handlePartnerStatistics gives partner staff and admins the case
// statistics of a period, small groups left out (P36).
func (s *Server) handlePartnerStatistics() http.Handler {
	return s.withSharing(func(w http.ResponseWriter, r *http.Request) {
		y, m, d := s.now().In(chinaTime).Date()
		tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, chinaTime)
		to, err := statsDay(r, "to", tomorrow)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		from, err := statsDay(r, "from", to.AddDate(0, 0, -84))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		a := authOf(r)
		st, err := s.sharing.Statistics(r.Context(), sharing.Viewer{UserID: a.User.ID, Role: a.User.Role}, sharing.StatsQuery{From: from, To: to})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		groups := make([]statsGroupJSON, 0, len(st.Groups))
		for _, g := range st.Groups {
			groups = append(groups, statsGroupJSON(g))
		}
		encode(w, http.StatusOK, map[string]any{"from": st.From.In(chinaTime).Format(time.DateOnly), "to": st.To.In(chinaTime).Format(time.DateOnly),
			"k": st.K, "groups": groups, "suppressed_groups": st.Suppressed})
	})
}
