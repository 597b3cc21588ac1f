package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// corpusLine is one memory of a fixed retrieval corpus.
type corpusLine struct {
	key, session, text string
	day                int // days after the corpus start
}

// englishCorpus is a dated, multi-session conversation between two named
// speakers, plus a few coding turns: the shape of conversational-memory
// benchmarks.
var englishCorpus = []corpusLine{
	{"support", "c1", "Caroline: I went to a LGBTQ support group yesterday and it was so powerful.", 0},
	{"kids", "c1", "Melanie: That's great! I'm busy with my kids this week, we went swimming at the lake.", 0},
	{"counsel", "c1", "Caroline: I'm thinking about studying counseling so I can help transgender youth.", 0},
	{"paint", "c1", "Melanie: I painted a sunrise over the lake last week, painting relaxes me.", 0},
	{"adopt", "c2", "Caroline: I've started looking into adoption agencies; I want to give a child a loving home.", 14},
	{"pottery", "c2", "Melanie: I signed up for a pottery class and made my first bowl on Saturday.", 14},
	{"sweden", "c2", "Caroline: My grandmother gave me a necklace when I moved from Sweden.", 14},
	{"camp", "c2", "Melanie: We took the kids camping in the mountains and roasted marshmallows.", 14},
	{"violin", "c3", "Caroline: I've been practicing violin every evening for the charity concert.", 30},
	{"book", "c3", "Melanie: I just finished reading 'Charlotte's Web' with my daughter.", 30},
	{"parade", "c3", "Caroline: The pride parade downtown was amazing, thousands of people marched.", 30},
	{"dog", "c3", "Melanie: Our dog Luna learned to fetch the frisbee at the beach.", 30},
	{"hike", "c4", "Caroline: I hiked to the waterfall trail with friends from the support group.", 45},
	{"job", "c4", "Melanie: I got a promotion at the hospital, I'm now head nurse of the pediatric ward.", 45},
	{"mentor", "c4", "Caroline: I started mentoring a teenager who recently came out to her parents.", 45},
	{"garden", "c4", "Melanie: My tomatoes and basil are finally growing in the backyard garden.", 45},
	{"conference", "c5", "Caroline: I gave a talk about inclusion at the education conference in Chicago.", 60},
	{"birthday", "c5", "Melanie: We celebrated my son's seventh birthday with a dinosaur cake.", 60},
	{"poetry", "c5", "Caroline: I wrote a poem about self-acceptance and read it at the open mic night.", 60},
	{"marathon", "c5", "Melanie: I'm training for a half marathon, running five miles every morning.", 60},
	{"rust", "dev1", "User: Why does the borrow checker reject my Rust closure?\n\nAssistant: The closure captures a mutable reference while another borrow is alive; clone the value or restructure the loop.", 70},
	{"docker", "dev1", "User: How do I make the Postgres container keep its data?\n\nAssistant: Mount a named volume at /var/lib/postgresql/data in docker compose.", 70},
	{"tz", "dev2", "User: Timestamps come back shifted by an hour.\n\nAssistant: Store them as timestamptz and convert to the user's time zone only when displaying.", 72},
	{"hnsw", "dev2", "User: Vector search got slow with a million rows.\n\nAssistant: Build an HNSW index and tune ef_search; check with EXPLAIN that the index is used.", 72},
	{"flaky", "dev3", "User: A test fails randomly in CI.\n\nAssistant: The test depends on map iteration order; sort the keys before comparing.", 75},
	{"regex", "dev3", "User: My regular expression matches too much.\n\nAssistant: Use a non-greedy quantifier .*? or a negated character class.", 75},
	{"deploy", "dev4", "User: How should we deploy the daemon?\n\nAssistant: Ship a static binary with a systemd unit and restart it on failure.", 80},
	{"cache", "dev4", "User: The API is slow on repeated requests.\n\nAssistant: Add an LRU cache in front of the database lookups with a five minute TTL.", 80},
	{"music", "c6", "Melanie: I took my daughter to her first piano recital, she played Für Elise.", 90},
	{"volunteer", "c6", "Caroline: I volunteer at the LGBTQ youth center every Thursday afternoon.", 90},
}

var chineseCorpus = []corpusLine{
	{"beijing", "z1", "小明：我上周去北京出差，顺便参观了故宫。", 0},
	{"hotpot", "z1", "小红：周末我们一家人去吃了重庆火锅，特别辣。", 0},
	{"cat", "z1", "小明：我家的猫咪叫豆豆，最喜欢睡在窗台上晒太阳。", 0},
	{"exam", "z1", "小红：我女儿下个月要参加高考，压力很大。", 0},
	{"guitar", "z2", "小明：我最近开始学吉他，每天晚上练习半小时。", 10},
	{"marathon", "z2", "小红：我报名参加了上海马拉松，正在坚持晨跑。", 10},
	{"tea", "z2", "小明：朋友送了我一盒西湖龙井茶，味道很清香。", 10},
	{"move", "z2", "小红：我们打算明年搬家到深圳，离公司近一些。", 10},
	{"cook", "z3", "小明：昨天我第一次自己做了红烧肉，家人都说好吃。", 20},
	{"garden", "z3", "小红：阳台上种的番茄终于结果了。", 20},
	{"travel", "z3", "小明：国庆节我们计划去云南大理旅游。", 20},
	{"book", "z3", "小红：我正在读《三体》，科幻小说太精彩了。", 20},
	{"job", "z4", "小明：我换了新工作，现在在一家互联网公司做产品经理。", 35},
	{"dog", "z4", "小红：邻居家的小狗每天早上都会叫。", 35},
	{"swim", "z4", "小明：每周三晚上我去游泳馆游泳一小时。", 35},
	{"piano", "z4", "小红：儿子的钢琴考级通过了十级。", 35},
	{"photo", "z5", "小明：我买了一台新相机，喜欢拍城市夜景。", 50},
	{"hospital", "z5", "小红：我妈妈住院做了膝盖手术，恢复得不错。", 50},
	{"bake", "z5", "小明：周末学会了烤面包，用的是全麦面粉。", 50},
	{"wedding", "z5", "小红：我表妹下个月在杭州举办婚礼。", 50},
	{"db", "zd1", "用户：数据库查询越来越慢怎么办？\n\n助手：给常用的查询条件建立索引，并用 EXPLAIN 检查执行计划。", 60},
	{"go", "zd1", "用户：Go 语言里怎么避免 goroutine 泄漏？\n\n助手：用 context 控制取消，确保每个 goroutine 都能退出。", 60},
	{"git", "zd2", "用户：不小心提交了密码到 Git 仓库怎么办？\n\n助手：立即更换密码，然后重写历史删除该提交。", 62},
	{"docker", "zd2", "用户：容器重启后数据丢失了。\n\n助手：把数据目录挂载到持久化的卷上。", 62},
	{"japan", "z6", "小明：明年春天想去日本京都看樱花。", 70},
	{"kite", "z6", "小红：孩子们在公园放风筝玩得很开心。", 70},
	{"learn", "z6", "小明：我在网上报了一个日语课程，每周上两次课。", 70},
	{"car", "z6", "小红：我们家新买了一辆电动汽车，充电很方便。", 70},
	{"jp1", "z7", "ケン：昨日は東京で友達と寿司を食べました。", 75},
	{"jp2", "z7", "ユキ：来週、大阪の水族館に行く予定です。", 75},
}

type retrievalCase struct {
	query string
	want  string // key of the memory that must be in the top 3
	modes []sage.Mode
}

var (
	allModes = []sage.Mode{sage.ModeHybrid, sage.ModeKeyword, sage.ModeSemantic}
	lexModes = []sage.Mode{sage.ModeHybrid, sage.ModeKeyword}
)

func loadCorpus(t *testing.T, s sage.Service, ctx context.Context, corpus []corpusLine) map[string]int64 {
	t.Helper()
	start := time.Date(2023, 5, 7, 13, 0, 0, 0, time.UTC)
	ids := map[string]int64{}
	for _, c := range corpus {
		r, err := s.Remember(ctx, sage.Note{Content: c.text, SessionID: c.session, OccurredAt: start.AddDate(0, 0, c.day)})
		if err != nil {
			t.Fatal(err)
		}
		ids[c.key] = r.ID
	}
	return ids
}

func runRetrieval(t *testing.T, corpus []corpusLine, cases []retrievalCase) {
	svc, _ := MustService(t)
	ctx := context.Background()
	ids := loadCorpus(t, svc, ctx, corpus)
	for _, c := range cases {
		for _, mode := range c.modes {
			res, err := svc.Search(ctx, sage.SearchQuery{Query: c.query, Mode: mode, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			var got []string
			for _, r := range res {
				got = append(got, fmt.Sprintf("%.60s", r.Text))
				if r.ID == ids[c.want] {
					found = true
				}
			}
			if !found {
				t.Errorf("%s %q: %q not in top 3: %q", mode, c.query, c.want, got)
			}
		}
	}
}

func TestRetrievalEnglish(t *testing.T) {
	runRetrieval(t, englishCorpus, []retrievalCase{
		{"When did Caroline go to the LGBTQ support group?", "support", allModes},
		{"What did Melanie paint?", "paint", allModes},
		{"What career is Caroline considering studying?", "counsel", allModes},
		{"Where did Melanie take her kids camping?", "camp", allModes},
		{"What instrument does Caroline practice?", "violin", allModes},
		{"What is the name of Melanie's dog?", "dog", allModes},
		{"What did Melanie's son have for his birthday?", "birthday", allModes},
		{"Where did Caroline give a talk about inclusion?", "conference", allModes},
		{"Where is Caroline's grandmother's necklace from?", "sweden", allModes},
		{"What race is Melanie training for?", "marathon", allModes},
		{"How do I keep postgres data in a docker container?", "docker", allModes},
		{"slow vector search index", "hnsw", allModes},
		{"flaky test in CI", "flaky", allModes},
		{"Rust borrow checker closure error", "rust", allModes},
		{"Melanie pottery bowl", "pottery", allModes},
		{"Which book did Melanie read with her daughter?", "book", allModes},
	})
}

func TestRetrievalChinese(t *testing.T) {
	runRetrieval(t, chineseCorpus, []retrievalCase{
		{"小明去北京做了什么？", "beijing", allModes},
		{"小明的猫叫什么名字？", "cat", allModes},
		{"小红报名了哪个马拉松？", "marathon", allModes},
		{"谁在学吉他？", "guitar", allModes},
		{"小红在读什么书？", "book", allModes},
		{"小明做了什么菜？", "cook", allModes},
		{"数据库查询很慢", "db", allModes},
		{"goroutine 泄漏", "go", allModes},
		{"容器数据丢失", "docker", allModes},
		{"小明想去日本哪里看樱花", "japan", allModes},
		{"东京 寿司", "jp1", lexModes},
		{"小红妈妈的手术", "hospital", allModes},
	})
}

// TestIndexHoldsTextAndTags: the text and the tags of a memory are
// searchable by keyword; its metadata values and its date are not (they
// would match every memory a hook saved).
func TestIndexHoldsTextAndTags(t *testing.T) {
	svc, _ := MustService(t)
	ctx := context.Background()
	when := time.Date(2023, 5, 8, 18, 30, 0, 0, time.UTC)
	r, err := svc.SaveTurn(ctx, sage.Turn{SessionID: "conv-1", UserPrompt: "I adopted a puppy last week!",
		AssistantResponse: "Congratulations!", Metadata: []byte(`{"speaker":"Gina","cwd":"/home/gina/code/webshop"}`), OccurredAt: when})
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc.Remember(ctx, sage.Note{Content: "Renew the passport", Tags: []string{"paperwork"}, OccurredAt: when.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  int64 // 0: nothing
	}{
		{"puppy", r.ID},
		{"paperwork", n.ID},
		{"passport", n.ID},
		{"Gina", 0},
		{"webshop code", 0},
		{"2023", 0},
	} {
		res, err := svc.Search(ctx, sage.SearchQuery{Query: c.query, Mode: sage.ModeKeyword, Limit: 1})
		switch {
		case err != nil:
			t.Errorf("Search(%q): %v", c.query, err)
		case c.want == 0 && len(res) != 0:
			t.Errorf("Search(%q) = %q; want nothing", c.query, res[0].Text)
		case c.want != 0 && (len(res) != 1 || res[0].ID != c.want):
			t.Errorf("Search(%q) = %+v; want %d", c.query, res, c.want)
		}
	}
}
