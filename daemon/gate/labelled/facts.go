package labelled

// fact is a memory some later prompts should recall: a turn saved by the
// prompt hooks (Prompt and Response) or a note (Note, with Kind), and the
// later prompts that need it.
type fact struct {
	Key      string
	Project  string // "" for global memories (preferences, personal facts)
	Kind     string // "" for a turn
	Prompt   string // a turn's user prompt
	Response string // a turn's assistant response
	Note     string // a note's content
	Tags     []string
	Recall   []string // later prompts that should bring this memory back
}

// facts: coding turns of five projects, decisions, todos and facts, and
// chat memories, in English and Chinese.
var facts = []fact{
	// shop-api: a Go service with PostgreSQL and Stripe.
	{Key: "stripe-webhook-flaky", Project: "shop-api",
		Prompt:   "the checkout tests keep failing on CI, sometimes only. can you look?",
		Response: "The flakiness comes from the Stripe webhook mock racing with the order worker. I added a WaitGroup in internal/checkout/checkout_test.go so the test waits for the worker, and pinned stripe-mock to v0.188.0 in docker-compose.ci.yml.",
		Recall: []string{
			"The checkout tests are flaky on CI again, what did we do last time about the Stripe webhook mock?",
			"Which stripe-mock version did we pin for the checkout tests?",
		}},
	{Key: "orders-index", Project: "shop-api",
		Prompt:   "listing orders by customer is slow in production",
		Response: "The query did a sequential scan over 4M rows of orders. I added the migration 0042_orders_customer_created.sql with CREATE INDEX CONCURRENTLY orders_customer_created ON orders (customer_id, created_at DESC); the endpoint went from 900 ms to 6 ms.",
		Recall: []string{
			"Remind me which index we added to speed up listing orders per customer",
			"Was the orders_customer_created index created concurrently?",
		}},
	{Key: "money-decimal", Project: "shop-api", Kind: "decision",
		Note: "Decision: money amounts are stored as integer cents (bigint) everywhere in shop-api, never float64; currency is a separate ISO 4217 column.",
		Recall: []string{
			"How do we store money amounts in shop-api, cents or decimals?",
			"Should the refund amount be a float64 or integer cents?",
		}},
	{Key: "idempotency-header", Project: "shop-api",
		Prompt:   "customers get charged twice when the mobile app retries the payment request",
		Response: "The payment endpoint now requires an Idempotency-Key header; keys are stored in the payment_requests table for 24 hours and a retry with the same key returns the first response instead of charging again.",
		Recall: []string{
			"How long do we keep Idempotency-Key values for payment retries?",
			"The mobile app double charged a customer on retry, didn't we add an idempotency key for that?",
		}},
	{Key: "shop-go-version", Project: "shop-api", Kind: "fact",
		Note: "shop-api builds with Go 1.24 and golangci-lint v1.64; the Dockerfile uses gcr.io/distroless/static as the runtime image.",
		Recall: []string{
			"Which runtime image does the shop-api Dockerfile use?",
			"What golangci-lint version is shop-api on?",
		}},
	{Key: "coupon-bug", Project: "shop-api",
		Prompt:   "coupon WELCOME10 gives 100% discount instead of 10%",
		Response: "The percent_off field was read as a fraction in applyCoupon (10 became 10.0 = 1000%, capped at 100%). Fixed to divide by 100 in internal/pricing/coupon.go and added a table test with WELCOME10 and SUMMER25.",
		Recall: []string{
			"The WELCOME10 coupon bug, where was the percent_off fix?",
			"Did we add a test for the SUMMER25 coupon percent_off?",
		}},
	{Key: "shop-todo-vat", Project: "shop-api", Kind: "todo",
		Note: "TODO: VAT for EU customers is still computed with the seller's rate; switch to the buyer's country rate (OSS scheme) before the German launch.",
		Recall: []string{
			"What's left to do on VAT before the German launch?",
			"Do we compute EU VAT with the buyer's country rate yet?",
		}},
	{Key: "pg-pool", Project: "shop-api",
		Prompt:   "we get 'too many clients already' from postgres under load",
		Response: "Each of the 12 pods opened up to 40 connections (pgxpool default of 4×CPU). I set pool_max_conns=10 in DATABASE_URL and put PgBouncer in transaction mode in front; max_connections stays 200.",
		Recall: []string{
			"What pool_max_conns did we set after the 'too many clients' errors?",
			"Is PgBouncer in transaction mode or session mode for shop-api?",
		}},

	// web-ui: a React + Vite front end.
	{Key: "vite-port", Project: "web-ui",
		Prompt:   "the dev server conflicts with the other app on port 3000",
		Response: "I moved the Vite dev server to port 5173 with strictPort: true in vite.config.ts and proxied /api to http://localhost:8080.",
		Recall: []string{
			"Which port does our Vite dev server use now?",
			"Where is the /api proxy to localhost:8080 configured?",
			"Did we set strictPort in vite.config.ts?",
		}},
	{Key: "react-query-stale", Project: "web-ui",
		Prompt:   "the cart badge shows an old count after adding an item",
		Response: "React Query kept the cart query fresh for 5 minutes (staleTime). After addToCart I now call queryClient.invalidateQueries({queryKey: ['cart']}) and staleTime for the cart is 0.",
		Recall: []string{
			"The cart badge count is stale again, how did we invalidate the cart query?",
			"What staleTime did we give the cart query in React Query?",
			"购物车数量不更新的问题，React Query 的 invalidateQueries 是怎么调用的？",
		}},
	{Key: "tailwind-darkmode", Project: "web-ui", Kind: "decision",
		Note: "Decision: dark mode uses Tailwind's class strategy (darkMode: 'class') toggled on <html>, with the choice saved in localStorage under 'theme'.",
		Recall: []string{
			"How is dark mode toggled in web-ui, media query or class?",
			"Under which localStorage key do we save the theme?",
		}},
	{Key: "playwright-auth", Project: "web-ui",
		Prompt:   "every playwright test logs in through the UI and the suite takes 14 minutes",
		Response: "Added a global setup that logs in once and saves storageState to playwright/.auth/user.json; tests reuse it. The suite now takes 4 minutes.",
		Recall: []string{
			"Where does Playwright save the logged-in storageState?",
			"How did we cut the Playwright suite from 14 minutes?",
		}},
	{Key: "bundle-size", Project: "web-ui",
		Prompt:   "the main bundle is 2.1 MB, why?",
		Response: "moment.js with all locales (700 kB) and the whole lodash. I replaced moment with date-fns and imported lodash functions one by one; the main chunk is 640 kB now. rollup-plugin-visualizer writes stats.html.",
		Recall: []string{
			"What did we replace moment.js with to shrink the bundle?",
			"How big was the main chunk after removing moment and lodash?",
		}},
	{Key: "i18n-lib", Project: "web-ui", Kind: "decision",
		Note: "Decision: web-ui uses i18next with react-i18next; translation files live in public/locales/{lng}/common.json, English is the fallback language.",
		Recall: []string{
			"Where do the i18next translation files live?",
			"Which i18n library did we pick for web-ui?",
		}},
	{Key: "sentry-sourcemaps", Project: "web-ui",
		Prompt:   "sentry stack traces show minified code",
		Response: "Source maps were not uploaded. The release job now runs sentry-cli sourcemaps upload --release $GIT_SHA dist/ and deletes the .map files before deploying, so they are not public.",
		Recall: []string{
			"Sentry shows minified stack traces again, how do we upload source maps?",
			"Do we delete the .map files before deploying web-ui?",
		}},

	// infra: Kubernetes, Terraform.
	{Key: "k8s-version", Project: "infra", Kind: "fact",
		Note: "The staging cluster runs Kubernetes 1.31 on EKS with the AWS Load Balancer Controller; production is still on 1.29 until the March upgrade window.",
		Recall: []string{
			"Which Kubernetes version is staging on, and production?",
			"When is the EKS production upgrade window?",
		}},
	{Key: "terraform-state", Project: "infra",
		Prompt:   "terraform apply says the state is locked",
		Response: "A crashed CI job left the DynamoDB lock in terraform-locks. I checked nobody was applying, ran terraform force-unlock 6f1c0e2a-..., and the state bucket is s3://acme-tfstate/prod/terraform.tfstate.",
		Recall: []string{
			"Terraform state is locked again, which DynamoDB table holds the lock?",
			"What's the S3 bucket of the prod terraform state?",
		}},
	{Key: "cert-manager", Project: "infra",
		Prompt:   "the TLS certificate of api.acme.dev expired this morning",
		Response: "cert-manager could not solve the HTTP-01 challenge because the ingress class changed to alb. I switched the ClusterIssuer letsencrypt-prod to the DNS-01 solver with Route53 and the certificate renewed.",
		Recall: []string{
			"Why did the api.acme.dev certificate expire, was it the HTTP-01 challenge?",
			"Does letsencrypt-prod use DNS-01 with Route53 now?",
		}},
	{Key: "grafana-dashboards", Project: "infra", Kind: "fact",
		Note: "Grafana dashboards are provisioned from the ops repository (dashboards/*.json) by the grafana-sidecar; editing them in the UI is lost on restart.",
		Recall: []string{
			"I edited a Grafana dashboard in the UI and my change vanished, where are dashboards provisioned from?",
			"Which sidecar loads the Grafana dashboards JSON?",
			"Is the grafana-sidecar still provisioning dashboards from the ops repository?",
		}},
	{Key: "oom-worker", Project: "infra",
		Prompt:   "the image-resizer pods get OOMKilled",
		Response: "libvips cached too much: I set VIPS_CONCURRENCY=2 and VIPS_DISC_THRESHOLD=100m, raised the memory limit from 512Mi to 1Gi, and the HPA now scales on memory at 70%.",
		Recall: []string{
			"The image-resizer is OOMKilled again, what VIPS settings did we use?",
			"What memory limit did we give the image-resizer pods?",
		}},
	{Key: "backup-policy", Project: "infra", Kind: "decision",
		Note: "Decision: PostgreSQL backups with pgBackRest, full weekly on Sunday 02:00 UTC, differential daily, kept 35 days in the acme-pg-backups bucket; restore tested monthly.",
		Recall: []string{
			"How long do we keep pgBackRest backups?",
			"When does the weekly full PostgreSQL backup run?",
		}},
	{Key: "infra-todo-alerts", Project: "infra", Kind: "todo",
		Note: "TODO: the PagerDuty alert for disk usage fires at 95%, too late for the Kafka brokers; lower it to 80% and add a runbook link.",
		Recall: []string{
			"What was the pending change for the Kafka disk usage alert?",
			"At what percentage does the PagerDuty disk alert fire now?",
		}},

	// ml-pipeline: Python.
	{Key: "pandas-memory", Project: "ml-pipeline",
		Prompt:   "feature extraction runs out of memory on the 30GB parquet",
		Response: "Reading the whole file with pandas needed 90 GB. I switched extract_features.py to polars scan_parquet with streaming=True and filter pushdown; peak memory is 6 GB.",
		Recall: []string{
			"How did we fix feature extraction running out of memory on the big parquet?",
			"Do we use polars scan_parquet with streaming in extract_features.py?",
		}},
	{Key: "seed-repro", Project: "ml-pipeline",
		Prompt:   "two training runs with the same config give different AUC",
		Response: "Seeds were set for numpy only. train.py now seeds random, numpy and torch (SEED=1337), sets torch.backends.cudnn.deterministic=True and the DataLoader gets a seeded generator; AUC is identical across runs.",
		Recall: []string{
			"Training runs are not reproducible again, what seed did we fix?",
			"Did we set cudnn.deterministic in train.py?",
		}},
	{Key: "mlflow-uri", Project: "ml-pipeline", Kind: "fact",
		Note: "MLflow tracking server: https://mlflow.internal.acme.dev, artifacts in s3://acme-mlflow; experiments are named <team>/<model>, e.g. risk/churn-xgb.",
		Recall: []string{
			"What's the MLflow tracking server URL?",
			"How should I name the MLflow experiment for the churn model?",
		}},
	{Key: "xgb-params", Project: "ml-pipeline", Kind: "decision",
		Note: "Decision: churn-xgb uses max_depth=6, eta=0.05, subsample=0.8, 800 rounds with early stopping at 50; chosen by Optuna study churn-v3.",
		Recall: []string{
			"What max_depth and eta does churn-xgb use?",
			"Which Optuna study chose the churn-xgb parameters?",
		}},
	{Key: "airflow-retry", Project: "ml-pipeline",
		Prompt:   "the nightly airflow DAG fails when the warehouse is slow",
		Response: "The snowflake_extract task had no retries. I set retries=3 with retry_delay=10 minutes and execution_timeout=2 hours in dags/nightly_features.py, and added an SLA miss callback to Slack #ml-alerts.",
		Recall: []string{
			"How many retries does the snowflake_extract task have in the nightly DAG?",
			"Where do Airflow SLA misses get reported?",
		}},

	// dotfiles / tooling.
	{Key: "nvim-lsp", Project: "dotfiles",
		Prompt:   "gopls in neovim is very slow on the monorepo",
		Response: "gopls indexed the whole monorepo including node_modules. In lua/lsp.lua I set directoryFilters = {'-node_modules', '-vendor', '-bazel-out'} and memoryMode was left default; startup dropped from 40 s to 5 s.",
		Recall: []string{
			"gopls is slow in neovim again, which directoryFilters did we set?",
			"Where in my neovim config are the gopls settings?",
		}},
	{Key: "git-signing", Project: "dotfiles", Kind: "fact",
		Note: "Commits are signed with the SSH key ~/.ssh/id_ed25519_signing (gpg.format=ssh); allowed signers are in ~/.config/git/allowed_signers.",
		Recall: []string{
			"Which key do I sign git commits with?",
			"Where is my git allowed_signers file?",
		}},
	{Key: "tmux-prefix", Project: "dotfiles",
		Prompt:   "ctrl-b conflicts with vim page up",
		Response: "Changed the tmux prefix to C-a in ~/.tmux.conf (unbind C-b; set -g prefix C-a; bind C-a send-prefix) and reloaded with tmux source-file.",
		Recall: []string{
			"What tmux prefix did I switch to instead of ctrl-b?",
			"Remind me what I bound as the tmux prefix in ~/.tmux.conf",
		}},

	// global: preferences and personal facts (chat memories).
	{Key: "pref-british", Kind: "fact",
		Note: "The user wants answers in British English with metric units, and code comments in English.",
		Recall: []string{
			"Which spelling and units should you use in your answers?",
			"Should the recipe use cups and Fahrenheit or metric units for me?",
		}},
	{Key: "pref-tests-first", Kind: "decision",
		Note: "The user prefers table-driven tests written before the fix, and small commits with messages in the imperative mood.",
		Recall: []string{
			"Remind me how I like tests and commit messages written",
			"Do I prefer table-driven tests written before the fix?",
		}},
	{Key: "cat-name", Kind: "fact",
		Note: "The user's cat is called Miso, a three-year-old ginger tabby who is allergic to chicken.",
		Recall: []string{
			"What is my cat allergic to again? I'm buying food for Miso.",
			"How old is Miso now?",
		}},
	{Key: "marathon", Kind: "fact",
		Note: "The user is training for the Berlin Marathon on 27 September, aiming for 3:45, with long runs on Sunday mornings.",
		Recall: []string{
			"What's my target time for the Berlin Marathon?",
			"When is the Berlin Marathon I'm training for?",
		}},
	{Key: "trip-japan",
		Prompt:   "plan a 10 day trip to Japan in April, I like hiking and onsen",
		Response: "Itinerary: Tokyo (3 days), Hakone for the onsen and the Owakudani hike (2), Kyoto with the Kurama–Kibune trail (3), Nara (1), back to Tokyo (1). JR Pass not worth it; buy a Suica and the Hakone Free Pass.",
		Recall: []string{
			"For my Japan trip, was the JR Pass worth it or not?",
			"Which hike did you suggest near Kyoto for my April trip?",
		}},
	{Key: "allergy-peanut", Kind: "fact",
		Note: "The user's daughter Lea has a peanut allergy and carries an EpiPen; recipes for the family must be peanut-free.",
		Recall: []string{
			"Can you suggest a satay sauce recipe that Lea can eat?",
			"Does Lea still carry an EpiPen for her peanut allergy?",
		}},
	{Key: "laptop-choice",
		Prompt:   "should I buy the 14 or 16 inch MacBook Pro for Go and Docker work?",
		Response: "The 14-inch M4 Pro with 48 GB RAM: Docker Desktop with a few Postgres containers fits, and it travels better; the 16-inch only adds screen and battery.",
		Recall: []string{
			"Which MacBook Pro size and RAM did you recommend for Docker work?",
			"Was it the 14-inch M4 Pro with 48 GB you suggested for Docker?",
		}},

	// Chinese: coding and chat.
	{Key: "zh-redis-ttl", Project: "shop-api",
		Prompt:   "商品详情页的缓存总是过期太快，数据库压力很大",
		Response: "Redis 里商品详情的 TTL 只有 60 秒，而且所有键同时过期造成缓存雪崩。我把 TTL 改成 30 分钟并加了 0 到 5 分钟的随机抖动，代码在 internal/cache/product.go。",
		Recall: []string{
			"商品详情缓存的 TTL 现在是多少？",
			"上次的缓存雪崩是怎么解决的？随机抖动加了多少？",
		}},
	{Key: "zh-deploy-window", Project: "infra", Kind: "decision",
		Note: "决定：生产环境只在周二和周四的北京时间 10:00 到 16:00 之间发布，周五和节假日前一天禁止发布。",
		Recall: []string{
			"生产环境什么时候可以发布？周五能发吗？",
			"我们的发布窗口是哪几天？",
		}},
	{Key: "zh-kafka-lag", Project: "infra",
		Prompt:   "订单消费者的 Kafka 延迟越来越大",
		Response: "消费者组 order-consumer 只有 3 个实例，但主题 orders 有 12 个分区。我把副本数扩到 12，并把 max.poll.records 从 500 降到 100，延迟从 40 万条降到几百条。",
		Recall: []string{
			"Kafka 订单消费者延迟的问题，当时 max.poll.records 改成了多少？",
			"orders 主题有几个分区？消费者扩到了几个？",
		}},
	{Key: "zh-wechat-login", Project: "web-ui",
		Prompt:   "微信扫码登录在手机浏览器里打不开",
		Response: "手机浏览器不能用网页扫码登录，需要判断 UA：在微信内置浏览器里走公众号 OAuth 授权（snsapi_userinfo），其他手机浏览器显示提示让用户用微信打开。",
		Recall: []string{
			"微信登录在手机浏览器里应该怎么处理？",
			"公众号授权用的是哪个 scope？",
		}},
	{Key: "zh-pytorch-amp", Project: "ml-pipeline",
		Prompt:   "训练显存不够，batch size 只能开到 8",
		Response: "开启了混合精度训练（torch.cuda.amp，bf16），再加上梯度累积 4 步，等效 batch size 64，显存从 38GB 降到 21GB，精度没有下降。",
		Recall: []string{
			"显存不够的时候我们是怎么做的？梯度累积了几步？",
			"混合精度用的是 fp16 还是 bf16？",
		}},
	{Key: "zh-mom-birthday", Kind: "fact",
		Note: "用户的妈妈生日是 11 月 3 日，喜欢普洱茶和苏绣，不喜欢太甜的蛋糕。",
		Recall: []string{
			"我妈妈生日快到了，她喜欢什么礼物？",
			"妈妈的生日是哪天？",
		}},
	{Key: "zh-apartment",
		Prompt:   "帮我比较一下浦东和徐汇两套房子，预算 600 万",
		Response: "徐汇那套离 11 号线近、学区更好但面积只有 68 平；浦东那套 92 平、2015 年的房子，通勤多 25 分钟。如果孩子两年内上小学，建议徐汇。",
		Recall: []string{
			"之前比较浦东和徐汇的房子，你建议哪套？",
			"徐汇那套房子离几号线近？面积多大？",
		}},
	{Key: "zh-go-generics", Project: "shop-api", Kind: "decision",
		Note: "决定：shop-api 的仓储层用 Go 泛型写一个 Repository[T] 接口，但不在业务代码里滥用泛型，只在通用的分页和缓存工具里用。",
		Recall: []string{
			"我们在 shop-api 里泛型是怎么约定的？",
			"Repository[T] 这个泛型接口是在哪一层用的？",
		}},
}
