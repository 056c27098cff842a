package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// rotate-keys re-encrypts every sealed column, not only phones: after a
// journey that fills them (real name, position, case, clue, relay
// message, ticket, guardian request), no value is left under the old
// key, and the service still reads every one of them.
func TestRotateKeysResealsEveryColumn(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a whole journey")
	}
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			args := []string{"--data", tg.DataDir, "--db", tg.DSN}
			if err := run(ctx, append([]string{"migrate"}, args...), noEnv, nil, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			const modPhone = "+8613600000011"
			if err := run(ctx, append([]string{"admin", "create-user", "--phone", modPhone, "--role", "moderator"}, args...), noEnv, nil, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			inst := start(t, tg.DataDir, tg.DSN)
			want := func(what string, st, code int) {
				t.Helper()
				if st != code {
					t.Fatalf("%s: %d, want %d", what, st, code)
				}
			}
			u := inst.URL + "/api/v1"
			rep := signUp(t, inst, "+8613600000012")
			want("real_name consent", call(t, "PUT", u+"/consents/real_name", rep.Token, nil, nil), 204)
			want("real name", call(t, "POST", u+"/me/real-name", rep.Token, map[string]string{"real_name": "张三", "id_number": "11010519491231002X"}, nil), 201)
			want("location consent", call(t, "PUT", u+"/consents/seeking_alert_location", rep.Token, nil, nil), 204)
			want("location", call(t, "PUT", u+"/me/location", rep.Token, map[string]any{"lat": 34.75, "lng": 113.62}, nil), 200)
			mod := signUp(t, inst, modPhone)

			var c struct{ ID string }
			want("create case", call(t, "POST", u+"/cases", rep.Token, map[string]any{
				"category": "child",
				"person":   map[string]any{"full_name": "王小明", "sex": "male", "age": 7},
				"last_seen": map[string]any{"at": time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339),
					"lat": 34.7466, "lng": 113.6254, "place_name": "人民公园"},
				"private": map[string]any{"relationship": "father", "contact_phone": "13712345678"},
			}, &c), 201)
			want("submit", call(t, "POST", u+"/cases/"+c.ID+"/submit", rep.Token, nil, nil), 200)
			want("approve", call(t, "POST", u+"/review/cases/"+c.ID+"/approve", mod.Token, nil, nil), 200)

			giver := signUp(t, inst, "+8613600000013")
			var clue struct{ ID string }
			want("clue", call(t, "POST", u+"/cases/"+c.ID+"/clues", giver.Token, map[string]any{
				"text": "在公园东门见过他", "lat": 34.75, "lng": 113.63, "place_name": "东门"}, &clue), 201)
			want("relay message", call(t, "POST", u+"/cases/"+c.ID+"/clues/"+clue.ID+"/messages", giver.Token, map[string]string{"text": "他穿红衣服"}, nil), 201)
			var tk struct{ ID string }
			want("ticket", call(t, "POST", u+"/tickets", rep.Token, map[string]string{"category": "privacy_complaint", "text": "请删除我的旧位置。"}, &tk), 201)
			want("guardian request", call(t, "POST", u+"/guardian-requests", "", map[string]string{
				"guardian_phone": "+8613600000014", "minor_phone": "+8613600000015", "kind": "access", "message": "我想查看孩子的信息。"}, nil), 201)
			inst.stop()

			db, err := sqlstore.Open(ctx, tg.DSN, tg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			before := sealedValues(t, db)
			for _, col := range []string{"users.phone_sealed", "real_names.name_sealed", "location_positions.point_sealed",
				"cases.reporter_contact_sealed", "clues.text_sealed", "relay_messages.text_sealed", "tickets.text_sealed"} {
				if len(before[col]) == 0 {
					t.Errorf("the journey left %s empty", col)
				}
			}

			var out bytes.Buffer
			if err := run(ctx, append([]string{"admin", "rotate-keys"}, args...), noEnv, nil, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			keys, err := keyring.Load(filepath.Join(tg.DataDir, "keys", "keyring.json"))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for col, vals := range sealedValues(t, db) {
				for _, v := range vals {
					n++
					if !strings.HasPrefix(v, keys.ActiveKeyID()+":") {
						t.Errorf("%s still holds a value under %s after rotating to %s", col, v[:strings.IndexByte(v, ':')], keys.ActiveKeyID())
					}
				}
			}
			if !strings.Contains(out.String(), fmt.Sprintf("%d sealed values re-encrypted", n)) {
				t.Errorf("rotate-keys said %q; %d sealed values are stored", out.String(), n)
			}

			inst = start(t, tg.DataDir, tg.DSN)
			u = inst.URL + "/api/v1"
			var me struct{ ID string }
			want("me", call(t, "GET", u+"/me", rep.Token, nil, &me), 200)
			var rn struct {
				Verified       bool    `json:"verified"`
				RealNameMasked *string `json:"real_name_masked"`
			}
			if st := call(t, "GET", u+"/me/real-name", rep.Token, nil, &rn); st != 200 || !rn.Verified || rn.RealNameMasked == nil {
				t.Errorf("real name after rotation: %d %+v", st, rn)
			}
			var pos struct{ Lat, Lng float64 }
			if st := call(t, "GET", u+"/me/location", rep.Token, nil, &pos); st != 200 || pos.Lat != 34.75 {
				t.Errorf("position after rotation: %d %+v", st, pos)
			}
			var priv map[string]any
			if st := call(t, "GET", u+"/cases/"+c.ID+"/private", rep.Token, nil, &priv); st != 200 || !strings.Contains(fmt.Sprint(priv), "13712345678") {
				t.Errorf("private fields after rotation: %d %v", st, priv)
			}
			var cl struct {
				Text      string `json:"text"`
				PlaceName string `json:"place_name"`
			}
			if st := call(t, "GET", u+"/cases/"+c.ID+"/clues/"+clue.ID, giver.Token, nil, &cl); st != 200 || cl.Text != "在公园东门见过他" || cl.PlaceName != "东门" {
				t.Errorf("clue after rotation: %d %+v", st, cl)
			}
			var msgs map[string]any
			if st := call(t, "GET", u+"/cases/"+c.ID+"/clues/"+clue.ID+"/messages", giver.Token, nil, &msgs); st != 200 || !strings.Contains(fmt.Sprint(msgs), "他穿红衣服") {
				t.Errorf("relay after rotation: %d %v", st, msgs)
			}
			var ticket struct{ Text string }
			if st := call(t, "GET", u+"/tickets/"+tk.ID, rep.Token, nil, &ticket); st != 200 || ticket.Text != "请删除我的旧位置。" {
				t.Errorf("ticket after rotation: %d %+v", st, ticket)
			}
		})
	}
}

// sealedValues reads every non-empty value of every registered sealed
// column, by "table.column".
func sealedValues(t *testing.T, db *sqlstore.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, c := range sqlstore.SealedColumns() {
		rows, err := db.SQL().Query(fmt.Sprintf(`SELECT %s FROM %s WHERE %s <> ''`, c.Column, c.Table, c.Column))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out[c.Table+"."+c.Column] = append(out[c.Table+"."+c.Column], v)
		}
		rows.Close()
	}
	return out
}
