package postgres_test

import (
	"context"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// TestDatePath: a question that says when ("in May 2023", "yesterday",
// "昨天", "2023年5月") searches that window for the rest of the question,
// in English and Chinese, in every mode; with nothing else to look for, it
// returns what happened then.
func TestDatePath(t *testing.T) {
	svc, _ := MustService(t)
	ctx := context.Background()
	yesterday := time.Now().UTC().AddDate(0, 0, -1)
	ids := map[string]int64{}
	for _, n := range []struct {
		key, text string
		at        time.Time
	}{
		{"puppy", "Gina adopted a puppy from the shelter.", time.Date(2023, 5, 8, 18, 0, 0, 0, time.UTC)},
		{"passport", "Renew the passport before the trip.", time.Date(2023, 6, 8, 9, 0, 0, 0, time.UTC)},
		{"login", "We fixed the login bug: the session cookie expired too early.", yesterday},
		{"payment", "We fixed the payment bug: the currency was rounded twice.", yesterday.AddDate(0, 0, -10)},
		{"登录", "我们修复了登录错误，会话过期太早。", yesterday},
		{"支付", "我们修复了支付错误，金额被四舍五入两次。", yesterday.AddDate(0, 0, -10)},
	} {
		r, err := svc.Remember(ctx, sage.Note{Content: n.text, OccurredAt: n.at})
		if err != nil {
			t.Fatal(err)
		}
		ids[n.key] = r.ID
	}
	for _, c := range []struct {
		query string
		want  string
		not   string
	}{
		{"what happened in May 2023", "puppy", "passport"},
		{"June 2023", "passport", "puppy"},
		{"2023-05", "puppy", "passport"},
		{"which bug did we fix yesterday", "login", "payment"},
		{"昨天修复了什么错误", "登录", "支付"},
		{"2023年5月", "puppy", "passport"},
		{"2023年6月的事", "passport", "puppy"},
	} {
		for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeKeyword, sage.ModeSemantic} {
			res, err := svc.Search(ctx, sage.SearchQuery{Query: c.query, Mode: mode})
			if err != nil {
				t.Fatalf("%s %q: %v", mode, c.query, err)
			}
			if len(res) == 0 || res[0].ID != ids[c.want] {
				t.Errorf("%s %q: first result %+v; want %q", mode, c.query, res, c.want)
			}
			for _, r := range res {
				if r.ID == ids[c.not] {
					t.Errorf("%s %q: returned %q, outside the window", mode, c.query, c.not)
				}
			}
		}
	}
}
