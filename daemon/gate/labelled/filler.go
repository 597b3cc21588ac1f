package labelled

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Filler vocabulary: everyday coding and chat turns about other things.
var (
	fillerVerbs   = []string{"add", "fix", "remove", "rename", "refactor", "document", "test", "speed up", "split", "clean up", "migrate", "review", "debug", "profile", "simplify"}
	fillerThings  = []string{"the user settings page", "the invoice PDF export", "the search endpoint", "the admin dashboard", "the email templates", "the CSV importer", "the rate limiter", "the audit log", "the notification service", "the feature flags", "the onboarding flow", "the billing cron", "the session store", "the upload handler", "the GraphQL schema", "the mobile deep links", "the cache warmer", "the report generator", "the shipping calculator", "the avatar resizer"}
	fillerTools   = []string{"Go", "TypeScript", "Python", "Rust", "SQL", "Bash", "Kotlin", "Swift", "Java", "Ruby"}
	fillerFiles   = []string{"handler.go", "service.ts", "models.py", "lib.rs", "schema.sql", "deploy.sh", "App.kt", "View.swift", "Main.java", "worker.rb"}
	fillerResults = []string{"tests pass", "the linter is happy", "it is 30% faster", "the CI is green", "the diff is small", "nothing else changed", "the docs are updated", "the old code path is gone"}
	fillerChats   = []string{"a recipe for banana bread", "how to fold a fitted sheet", "the rules of padel", "a birthday message for a colleague", "the history of the Silk Road", "tips for a job interview", "how tides work", "a packing list for camping", "the difference between baking soda and baking powder", "how to repot a cactus"}
	fillerZH      = []string{"用户设置页面", "发票导出", "搜索接口", "管理后台", "邮件模板", "导入功能", "限流器", "审计日志", "通知服务", "上传接口"}
	fillerZHVerbs = []string{"修复", "重构", "优化", "删除", "重命名", "补充测试", "写文档", "排查"}
)

// Filler returns n memories no prompt of the set is about, made from
// random vocabulary with a fixed seed (the same n give the same memories),
// as turns saved by the hooks in many sessions of other projects. They
// grow the store to test that the gate's verdicts do not depend on its
// size.
func Filler(n int) []Memory {
	rng := rand.New(rand.NewPCG(15, 2026))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	out := make([]Memory, 0, n)
	for i := range n {
		project := fmt.Sprintf("proj-%02d", i%37)
		var prompt, resp string
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5:
			v, th, tool, f := pick(fillerVerbs), pick(fillerThings), pick(fillerTools), pick(fillerFiles)
			prompt = fmt.Sprintf("%s %s in %s please (%d)", v, th, tool, i)
			resp = fmt.Sprintf("Done: I changed %s and its tests for %s; %s. Ticket %c%c-%d.", f, th, pick(fillerResults), 'A'+rune(rng.IntN(26)), 'A'+rune(rng.IntN(26)), rng.IntN(9000)+1000)
		case 6, 7:
			c := pick(fillerChats)
			project = ""
			prompt = fmt.Sprintf("tell me about %s, version %d", c, i)
			resp = fmt.Sprintf("Here is a short answer about %s, in %d steps, with one tip at the end (note %d).", c, rng.IntN(6)+3, i)
		default:
			th, v := pick(fillerZH), pick(fillerZHVerbs)
			prompt = fmt.Sprintf("帮我%s%s（%d）", v, th, i)
			resp = fmt.Sprintf("已经%s了%s，修改了 %s，%s。", v, th, pick(fillerFiles), strings.ToUpper(pick(fillerResults)[:1])+pick(fillerResults)[1:])
		}
		out = append(out, Memory{Key: fmt.Sprintf("filler-%06d", i), Project: project, SessionID: fmt.Sprintf("f-%05d", i/20),
			Kind: sage.KindTurn, Prompt: prompt, Response: resp, Metadata: metadata(project, i),
			OccurredAt: start.Add(-time.Duration(i) * 7 * time.Minute)})
	}
	return out
}
