package synonyms_test

import (
	"math"
	"testing"

	"github.com/sage-mcp/sage/testkit/synonyms"
)

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot
}

func TestVector(t *testing.T) {
	const dims = 64
	for _, tc := range []struct {
		name     string
		a, b     string
		atLeast  float64
		lessThan float64
	}{
		{name: "synonyms", a: "login bug", b: "auth regression", atLeast: 0.99, lessThan: 1.01},
		{name: "Chinese without spaces", a: "登录故障", b: "sign-in defect", atLeast: 0.99, lessThan: 1.01},
		{name: "e5 prefix ignored", a: "query: slow database", b: "sluggish postgres", atLeast: 0.99, lessThan: 1.01},
		{name: "nothing in common", a: "login bug", b: "deploy decision", atLeast: -0.01, lessThan: 0.01},
		{name: "empty", a: "", b: "", atLeast: 0.99, lessThan: 1.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := synonyms.Vector(tc.a, dims), synonyms.Vector(tc.b, dims)
			if len(a) != dims || len(b) != dims {
				t.Fatalf("lengths %d, %d, want %d", len(a), len(b), dims)
			}
			if n := cosine(a, a); math.Abs(n-1) > 1e-5 {
				t.Errorf("|a|² = %v, want 1", n)
			}
			if c := cosine(a, b); c < tc.atLeast || c >= tc.lessThan {
				t.Errorf("cosine(%q, %q) = %v, want in [%v, %v)", tc.a, tc.b, c, tc.atLeast, tc.lessThan)
			}
		})
	}
}
