package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// corpus is a deterministic synthetic history of Claude Code conversations:
// many sessions in many projects over about a year and a half, in English
// and Chinese, built from templates filled with random vocabulary. Turn i is
// a pure function of (seed, run, i), so seeding workers need no
// coordination and queries can quote what was saved.
type corpus struct {
	seed     uint64
	run      string // prefix of session ids: runs never collide
	n        int
	sessions []session
	bySess   []int // turn index -> session index
}

// session is one conversation: a contiguous range of turns.
type session struct {
	id      string
	project string
	lang    lang
	first   int // index of its first turn
	start   time.Time
}

type lang int

const (
	langEN lang = iota
	langZH
	langMixed
)

// corpusStart is when the synthetic history begins; corpusSpan its length.
var (
	corpusStart = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	corpusSpan  = 540 * 24 * time.Hour
)

// Session sizes: between minSession and minSession+spreadSession turns.
const (
	minSession    = 4
	spreadSession = 60
)

// newCorpus lays out n turns in sessions.
func newCorpus(seed uint64, run string, n int) *corpus {
	c := &corpus{seed: seed, run: run, n: n, bySess: make([]int, n)}
	r := rand.New(rand.NewPCG(seed, 0x5e55))
	for i := 0; i < n; {
		size := minSession + r.IntN(spreadSession+1)
		if r.IntN(10) == 0 { // a few long sessions
			size *= 3
		}
		size = min(size, n-i)
		l := langEN
		switch x := r.IntN(100); {
		case x < 25:
			l = langZH
		case x < 30:
			l = langMixed
		}
		c.sessions = append(c.sessions, session{
			id:      fmt.Sprintf("%s-%06d-%08x", run, len(c.sessions), r.Uint32()),
			project: pickZipf(r, projects),
			lang:    l,
			first:   i,
		})
		for j := range size {
			c.bySess[i+j] = len(c.sessions) - 1
		}
		i += size
	}
	step := corpusSpan / time.Duration(max(len(c.sessions), 1))
	for k := range c.sessions {
		c.sessions[k].start = corpusStart.Add(time.Duration(k)*step + time.Duration(r.Int64N(int64(step/2)+1)))
	}
	return c
}

// pickZipf picks from list, the first entries much more often.
func pickZipf(r *rand.Rand, list []string) string {
	// P(i) roughly proportional to 1/(i+1).
	for {
		i := int(float64(len(list)) * r.Float64() * r.Float64())
		if i < len(list) {
			return list[i]
		}
	}
}

// turn is one synthetic conversation turn, as save_conversation takes it.
type turn struct {
	Index             int
	SessionID         string
	Project           string
	UserPrompt        string
	AssistantResponse string
	OccurredAt        time.Time
	IdempotencyKey    string
}

// Turn returns turn i.
func (c *corpus) Turn(i int) turn {
	s := c.sessions[c.bySess[i]]
	j := i - s.first
	r := rand.New(rand.NewPCG(c.seed^0x7a11, uint64(i)))
	l := s.lang
	if l == langMixed {
		l = lang(r.IntN(2))
	}
	at := s.start.Add(time.Duration(j)*3*time.Minute + time.Duration(r.IntN(120))*time.Second)
	f := filler{r: r, project: s.project, turn: i}
	var user, asst string
	if l == langZH {
		user = f.paragraph(zhUser, 1+r.IntN(2), "")
		asst = f.paragraph(zhAssistant, 3+r.IntN(8), "")
	} else {
		user = f.paragraph(enUser, 1+r.IntN(3), " ")
		asst = f.paragraph(enAssistant, 3+r.IntN(10), " ")
	}
	return turn{
		Index: i, SessionID: s.id, Project: s.project,
		UserPrompt: user, AssistantResponse: asst, OccurredAt: at,
		IdempotencyKey: fmt.Sprintf("%s:%d", s.id, j),
	}
}

// Sessions is how many sessions the corpus has.
func (c *corpus) Sessions() int { return len(c.sessions) }

// filler fills templates: {tech}, {file}, {func}, {error}, {person},
// {place}, {day}, {topic}, {num}, {project}, {word} and their Chinese
// counterparts {zhtopic}, {zhplace}, {zhthing}.
type filler struct {
	r       *rand.Rand
	project string
	turn    int
}

func (f filler) paragraph(templates []string, sentences int, sep string) string {
	parts := make([]string, sentences)
	for k := range parts {
		parts[k] = f.fill(templates[f.r.IntN(len(templates))])
	}
	return strings.Join(parts, sep)
}

func (f filler) fill(t string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		j := strings.IndexByte(t[i:], '}')
		b.WriteString(t[:i])
		b.WriteString(f.slot(t[i+1 : i+j]))
		t = t[i+j+1:]
	}
}

func (f filler) slot(name string) string {
	r := f.r
	pick := func(l []string) string { return l[r.IntN(len(l))] }
	if l, ok := listSlots[name]; ok {
		return pick(l)
	}
	switch name {
	case "file":
		return pick(dirs) + "/" + pick(fileStems) + pick([]string{".go", ".ts", ".py", ".rs", ".sql", ".yaml"})
	case "func":
		return pick(verbs) + pick(nouns)
	case "num":
		return fmt.Sprint(2 + r.IntN(998))
	case "ticket":
		return fmt.Sprintf("#%d", 100+(f.turn*7919+r.IntN(50))%9000)
	case "project":
		return f.project
	}
	return name
}

// query is one search: its text and, for some, a project filter.
type query struct {
	Text    string
	Project string
	Kind    string // matching, vague or unrelated
}

// Queries returns m realistic queries about the first n turns: about half
// quote words of a saved turn, a quarter are vague topic questions, a
// quarter are about things never discussed; about a third filter by
// project.
func (c *corpus) Queries(seed uint64, m int) []query {
	r := rand.New(rand.NewPCG(seed, 0x9e77))
	out := make([]query, m)
	for k := range out {
		var q query
		switch x := r.IntN(4); {
		case x < 2:
			t := c.Turn(r.IntN(c.n))
			q = query{Text: excerpt(r, t.UserPrompt+" "+t.AssistantResponse), Kind: "matching"}
			if r.IntN(3) == 0 {
				q.Project = t.Project
			}
		case x == 2:
			f := filler{r: r}
			if r.IntN(4) == 0 {
				q = query{Text: f.fill(pick(r, zhQuestions)), Kind: "vague"}
			} else {
				q = query{Text: f.fill(pick(r, enQuestions)), Kind: "vague"}
			}
			if r.IntN(3) == 0 {
				q.Project = pickZipf(r, projects)
			}
		default:
			q = query{Text: pick(r, unrelated), Kind: "unrelated"}
			if r.IntN(3) == 0 {
				q.Project = pickZipf(r, projects)
			}
		}
		out[k] = q
	}
	return out
}

func pick(r *rand.Rand, l []string) string { return l[r.IntN(len(l))] }

// excerpt returns a few consecutive words (or, for Chinese, characters) of
// text, as someone remembering it roughly would type.
func excerpt(r *rand.Rand, text string) string {
	if f := strings.Fields(text); len(f) >= 8 {
		n := 3 + r.IntN(5)
		i := r.IntN(len(f) - n)
		return strings.Trim(strings.Join(f[i:i+n], " "), ".,?!:;")
	}
	rs := []rune(text)
	n := min(4+r.IntN(8), len(rs))
	i := r.IntN(len(rs) - n + 1)
	return strings.Trim(string(rs[i:i+n]), "，。？！：；、 ")
}

var projects = []string{
	"sage", "billing-api", "mobile-app", "data-pipeline", "infra", "website",
	"ml-platform", "auth-service", "search-ui", "homelab", "blog", "cli-tools",
	"payments", "notifications", "analytics", "docs", "design-system",
	"game-engine", "recipe-app", "thesis", "trading-bot", "chat-widget",
	"crm-sync", "iot-gateway",
}

var (
	techs = []string{"PostgreSQL", "pgvector", "Redis", "Kafka", "Docker", "Kubernetes", "gRPC", "GraphQL",
		"React", "Next.js", "Go", "Rust", "Python", "TypeScript", "Terraform", "nginx", "S3", "SQLite",
		"WebSocket", "OAuth", "JWT", "Prometheus", "Grafana", "GitHub Actions", "pnpm", "Vite", "Tailwind",
		"FastAPI", "Django", "tokio", "goroutines", "ClickHouse", "Elasticsearch", "RabbitMQ", "systemd"}
	dirs       = []string{"internal/api", "cmd/server", "pkg/store", "src/components", "src/lib", "app/models", "scripts", "migrations", "web/src", "services/billing", "crates/core"}
	fileStems  = []string{"handler", "server", "client", "config", "schema", "router", "cache", "worker", "auth", "queue", "invoice", "session", "index", "retry", "metrics", "parser", "upload", "search"}
	verbs      = []string{"parse", "load", "save", "fetch", "build", "render", "validate", "sync", "flush", "resolve", "encode", "retry", "schedule", "merge", "compute"}
	nouns      = []string{"Config", "Invoice", "Session", "Token", "Batch", "Index", "Request", "Payload", "Query", "Manifest", "Schema", "Cursor", "Snapshot", "Event", "Order"}
	errorsList = []string{"context deadline exceeded", "connection refused", "nil pointer dereference", "duplicate key value violates unique constraint",
		"permission denied", "too many open files", "out of memory", "EOF", "TLS handshake timeout", "unexpected token", "429 Too Many Requests",
		"deadlock detected", "segmentation fault", "ImportError", "borrow of moved value", "undefined is not a function"}
	people = []string{"Alice", "Bob", "Caroline", "Melanie", "Wei", "Yuki", "Ahmed", "Sofia", "Luca", "Priya", "Jonas", "Mateo", "Chen", "Olga", "Kwame"}
	places = []string{"Lisbon", "Kyoto", "Berlin", "Toronto", "Nairobi", "Oaxaca", "Reykjavik", "Seoul", "Marseille", "Hanoi", "Cape Town", "Vancouver", "Tbilisi"}
	days   = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "week", "month", "sprint"}
	topics = []string{"the release process", "error handling", "database migrations", "the caching strategy", "API versioning", "the on-call rotation",
		"test coverage", "the logging format", "rate limiting", "feature flags", "the deployment pipeline", "dependency upgrades", "code review rules",
		"the data retention policy", "accessibility", "the pricing page", "observability", "the onboarding flow", "backups", "the monorepo layout"}
	words = []string{"carefully", "quickly", "later", "first", "again", "instead", "probably", "definitely", "temporarily", "eventually",
		"latency", "throughput", "memory", "timeout", "fallback", "regression", "benchmark", "refactor", "flaky", "hotfix", "rollback",
		"violin", "pottery", "hiking", "sourdough", "marathon", "chess", "garden", "camera", "bicycle", "aquarium"}
)

// listSlots are the slots filled with one entry of a list, by name.
var listSlots = map[string][]string{
	"tech": techs, "error": errorsList, "person": people, "place": places, "day": days,
	"topic": topics, "word": words, "zhtopic": zhTopics, "zhplace": zhPlaces, "zhthing": zhThings,
}

var enUser = []string{
	"Why does {func} in {file} fail with \"{error}\" when {tech} restarts?",
	"Can you add a test for {func} that covers the {word} case?",
	"Please refactor {file} so {func} no longer blocks on {tech}.",
	"What did we decide about {topic} last {day}?",
	"The build broke after upgrading {tech}; the log says {error}.",
	"Let's switch {project} from {tech} to {tech} for the queue.",
	"Remind me how {func} handles retries.",
	"I'm going to {place} with {person} next {day}, keep that in mind for the release plan.",
	"Ticket {ticket}: users see {error} on the checkout page.",
	"Can you explain the difference between {tech} and {tech} for our use case?",
	"Write a migration that adds an index for {func}.",
	"{person} asked whether {project} can ship {topic} changes this {day}.",
	"Benchmark {func}; it feels {word} slow since the {tech} upgrade.",
}

var enAssistant = []string{
	"I traced the failure to {func} in {file}: it does not close the {tech} connection on \"{error}\".",
	"The fix wraps the call in a retry with exponential backoff, at most {num} attempts.",
	"I added a table test for {func} with {num} cases, including the {word} one.",
	"We decided to keep {tech} for {topic} because switching costs more than it saves.",
	"{file} now validates its input before calling {func}, so bad payloads fail fast.",
	"The benchmark shows {num} requests per second after the change, up from {num}.",
	"I updated the README section about {topic} and linked ticket {ticket}.",
	"Note that {tech} caps connections at {num}; the pool in {file} must stay below that.",
	"{person} prefers small pull requests, so I split the change into {num} commits.",
	"The root cause was a race between {func} and the {tech} health check.",
	"I rolled back the {tech} upgrade and pinned the previous version until {day}.",
	"The migration adds the index concurrently, so {project} keeps serving during it.",
	"Logs now carry the request id, which makes {error} much easier to trace.",
	"I left a TODO in {file} to revisit {topic} after the {place} offsite.",
	"All {num} tests pass locally and in CI; the flaky one was {func} depending on wall time.",
	"Config for {tech} moved to environment variables, documented in the {project} docs.",
}

var zhUser = []string{
	"为什么 {file} 里的 {func} 在 {tech} 重启后会报错“{error}”？",
	"我们上周关于{zhtopic}是怎么决定的？",
	"帮我给 {func} 加一个测试，覆盖{zhthing}的情况。",
	"{project} 的{zhtopic}能不能改成用 {tech}？",
	"下周我要和 {person} 去{zhplace}，发布计划要考虑这个。",
	"线上出现了{zhthing}问题，工单 {ticket}，先帮我看看日志。",
	"解释一下 {tech} 和 {tech} 在我们场景下的区别。",
	"{func} 最近变慢了，帮我做个性能分析。",
}

var zhAssistant = []string{
	"问题出在 {file} 的 {func}：{tech} 连接断开时没有释放资源。",
	"我给 {func} 加了重试，最多重试 {num} 次，使用指数退避。",
	"我们决定{zhtopic}继续使用 {tech}，因为迁移成本太高。",
	"新增了 {num} 个表驱动测试，包括{zhthing}的边界情况。",
	"压测结果是每秒 {num} 个请求，比之前的 {num} 个提高了不少。",
	"我更新了文档中关于{zhtopic}的部分，并关联了工单 {ticket}。",
	"根本原因是 {func} 和 {tech} 健康检查之间存在竞争条件。",
	"配置已经移到环境变量里，{project} 的文档也同步更新了。",
	"{person} 建议把改动拆成 {num} 个小提交，方便代码审查。",
	"日志里现在带上了请求 ID，排查{zhthing}问题会容易很多。",
	"我在 {file} 里留了一个 TODO，等{zhplace}的团建之后再处理{zhtopic}。",
}

var (
	zhTopics = []string{"发布流程", "错误处理", "数据库迁移", "缓存策略", "接口版本", "值班安排", "测试覆盖率", "日志格式",
		"限流", "功能开关", "部署流水线", "依赖升级", "代码审查", "数据保留策略", "监控告警", "备份恢复"}
	zhPlaces = []string{"北京", "上海", "杭州", "深圳", "成都", "西安", "南京", "厦门", "香港", "台北", "东京", "新加坡"}
	zhThings = []string{"内存泄漏", "连接超时", "死锁", "空指针", "重复提交", "权限不足", "磁盘写满", "慢查询", "证书过期", "并发冲突", "数据不一致"}
)

var enQuestions = []string{
	"what did we decide about {topic}",
	"how do we handle {error}",
	"{tech} connection pool settings",
	"why was {tech} chosen",
	"who is going to {place}",
	"tests for {func}",
	"benchmark results {tech}",
	"{topic} {tech}",
}

var zhQuestions = []string{
	"{zhtopic}是怎么决定的",
	"{zhthing}问题怎么解决的",
	"{tech} 的{zhtopic}",
	"去{zhplace}的计划",
}

var unrelated = []string{
	"best sourdough hydration for a beginner loaf",
	"quantum error correction surface codes",
	"how to repot an orchid after flowering",
	"medieval castle architecture in Wales",
	"origami crane folding instructions",
	"tide tables for the Bay of Fundy",
	"knitting a cable pattern scarf",
	"如何种植多肉植物",
	"明朝的历史人物",
	"熊猫的饮食习惯",
	"volcano eruption prediction satellite data",
	"jazz chord voicings for beginners",
}
