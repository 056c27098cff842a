package alert

import (
	"fmt"
	"strconv"
	"time"

	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/seeking"
)

// Dedupe keys: one alert and one resolution per person per case, across
// every ring and every centre.
func alertKey(caseID string) string      { return "alert:" + caseID }
func resolutionKey(caseID string) string { return "resolution:" + caseID }

// caseLink is where a notification about a case opens.
func caseLink(caseID string) string { return "/cases/" + caseID }

var categoryLabel = map[seeking.Category]string{
	seeking.CategoryChild:    "儿童",
	seeking.CategoryElder:    "老人",
	seeking.CategoryDementia: "认知障碍患者",
	seeking.CategoryAdult:    "成年人",
	seeking.CategoryOther:    "走失者",
}

// whyConsent ends every alert: the person gets it because they allowed
// it, and may stop it.
const whyConsent = "您收到这条预警，是因为您开启了“寻人预警位置”授权；可随时在隐私中心关闭。"

// alertNotification is the alert r's recipient gets: the person's name,
// and why they get it — which ring of which centre reached them, roughly
// how far they are, and that they allowed people-seeking alerts.
func (s *Service) alertNotification(c seeking.Case, a Alert, r Recipient) notify.Notification {
	radius := 0.0
	for _, rs := range a.Rings {
		if rs.N == r.Ring {
			radius = rs.RadiusKm
		}
	}
	label := categoryLabel[c.Category]
	var title, body string
	if a.ClueID == "" {
		title = "寻人预警：" + c.Person.FullName
		when := c.LastSeen.At.In(s.cfg.Quiet.Zone).Format("1月2日 15:04")
		body = fmt.Sprintf("%s（%s）于%s在%s附近走失。您在这次预警的第 %d 圈（%s 公里）内，距走失地点约 %d 公里。",
			c.Person.FullName, label, when, c.LastSeen.PlaceName, r.Ring, formatKm(radius), r.DistanceKm)
	} else {
		// The clue's place and text stay private (reporter, moderators
		// and partner police): the alert says only how far it is.
		title = "寻人线索：" + c.Person.FullName
		body = fmt.Sprintf("%s（%s）的一条线索已经核实，线索地点距您约 %d 公里，您在它的第 %d 圈（%s 公里）内。",
			c.Person.FullName, label, r.DistanceKm, r.Ring, formatKm(radius))
	}
	return notify.Notification{
		Recipient: notify.Subject{Kind: string(r.Subject.Kind), ID: r.Subject.ID},
		Kind:      notify.KindSeekingAlert,
		DedupeKey: alertKey(c.ID),
		Title:     title,
		Body:      body + "如有线索，请打开案件页提交。" + whyConsent,
		Data:      notify.Data{CaseID: c.ID, Ring: r.Ring, DistanceKM: r.DistanceKm, Link: caseLink(c.ID)},
	}
}

// resolutionNotification tells someone alerted that the case is over. It
// names no one: once resolved, a case hides the person's details.
func resolutionNotification(c seeking.Case, r Recipient) notify.Notification {
	title, body := "寻人已结束", "您此前收到的一条寻人预警已经结束，无需再留意。感谢您的关注。"
	if c.Status == seeking.StatusFoundSafe || c.Status == seeking.StatusFoundSafePrivate {
		title, body = "寻人结束：已平安找到", "您此前收到的一条寻人预警中的走失者已经平安找到，无需再留意。感谢您的关注。"
	}
	return notify.Notification{
		Recipient: notify.Subject{Kind: string(r.Subject.Kind), ID: r.Subject.ID},
		Kind:      notify.KindSeekingResolution,
		DedupeKey: resolutionKey(c.ID),
		Title:     title,
		Body:      body,
		Data:      notify.Data{CaseID: c.ID, Link: caseLink(c.ID)},
	}
}

// formatKm writes a radius without needless decimals.
func formatKm(km float64) string { return strconv.FormatFloat(km, 'f', -1, 64) }

// pushesInQuiet reports whether a case's alerts push even during quiet
// hours: a child in the first hours after they were last seen.
func (s *Service) pushesInQuiet(c seeking.Case, now time.Time) bool {
	return c.Category == seeking.CategoryChild && now.Sub(c.LastSeen.At) < s.cfg.ChildOverride
}
