// Package synonyms is a fake embedding model for tests and stand-ins:
// deterministic unit vectors built from a small synonym table, so that
// "login bug" and "auth regression" are close as with a real model, while
// texts with nothing in common are not. It is not a model: it exists to
// prove the wiring (the embed package's tests, and scripts/compose-test.sh's
// stand-in for text-embeddings-inference, cmd/embed-standin).
package synonyms

import (
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// concepts maps words (English and Chinese) to a shared concept, one
// dimension each: texts that say the same thing in other words get close
// vectors.
var concepts = map[string]int{
	"login": 0, "auth": 0, "authentication": 0, "signin": 0, "sign-in": 0, "登录": 0, "认证": 0,
	"bug": 1, "regression": 1, "defect": 1, "breakage": 1, "故障": 1, "错误": 1,
	"database": 2, "postgres": 2, "postgresql": 2, "数据库": 2,
	"slow": 3, "latency": 3, "sluggish": 3, "慢": 3,
	"deploy": 4, "release": 4, "rollout": 4, "发布": 4,
	"decide": 5, "decided": 5, "decision": 5, "agreed": 5, "决定": 5,
}

// FirstHashed is the first dimension of the hashed buckets for words that
// are not in the synonym table; a vector needs more dimensions than this.
const FirstHashed = 16

// Vector is the fake model's vector of text, of length dims (more than
// FirstHashed): every known word adds its concept, every other word a hashed
// bucket past the concepts; the sum is normalized. The prefix "query: "
// (multilingual-e5's, which Sage adds for that model) is ignored.
func Vector(text string, dims int) []float32 {
	v := make([]float32, dims)
	isHan := func(r rune) bool { return unicode.Is(unicode.Han, r) }
	lower := strings.ToLower(strings.TrimPrefix(text, "query: "))
	for w := range strings.FieldsFuncSeq(lower, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' || isHan(r)
	}) {
		if c, ok := concepts[w]; ok {
			v[c]++
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(w))
		v[FirstHashed+int(h.Sum32()%uint32(dims-FirstHashed))] += 0.3
	}
	for w, c := range concepts { // Chinese words have no spaces around them
		if strings.ContainsFunc(w, isHan) && strings.Contains(lower, w) {
			v[c]++
		}
	}
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		v[dims-1] = 1
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(sum))
	}
	return v
}
