package ranking

import (
	"fmt"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
)

func TestNearDuplicate(t *testing.T) {
	long := "We moved the nightly backup to three in the morning because the index rebuild ran at two and both fought for the disk"
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same text", long, long, true},
		{"punctuation and case", long, "we moved the NIGHTLY backup, to three in the morning; because the index rebuild ran at two, and both fought for the disk!", true},
		{"one word more at the end", long, long + " again", true},
		{"one word changed", long, "We moved the nightly backup to four in the morning because the index rebuild ran at two and both fought for the disk", false},
		{"other text", long, "The staging cluster runs PostgreSQL 17 with pgvector 0.8 and three replicas", false},
		{"short, same words", "Yes, do it.", "yes do it", true},
		{"short, other words", "yes do it", "no do not", false},
		{"short and long", "yes", long, false},
		{"chinese, same", "我们把夜间备份改到凌晨三点，因为索引重建在两点运行", "我们把夜间备份改到凌晨三点 因为索引重建在两点运行", true},
		{"chinese, other", "我们把夜间备份改到凌晨三点，因为索引重建在两点运行", "测试集群运行三个副本和一个主节点以及备份服务", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nearDuplicate(newShingles(tc.a), newShingles(tc.b)); got != tc.want {
				t.Errorf("nearDuplicate(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := nearDuplicate(newShingles(tc.b), newShingles(tc.a)); got != tc.want {
				t.Errorf("nearDuplicate is not symmetric for %q, %q", tc.a, tc.b)
			}
		})
	}
}

func TestDropNearDuplicates(t *testing.T) {
	text := func(i int) string {
		return fmt.Sprintf("memory number %d talks about topic %d in its own words, sentence %d", i, i*7, i*13)
	}
	var rs []sage.Result
	for i := range 6 {
		rs = append(rs, sage.Result{Memory: sage.Memory{ID: int64(i), Text: text(i)}})
		if i%2 == 0 { // a near-duplicate right after
			rs = append(rs, sage.Result{Memory: sage.Memory{ID: int64(100 + i), Text: text(i) + "."}})
		}
	}
	got := DropNearDuplicates(rs, 4)
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[0 1 2 3]" {
		t.Errorf("kept %v, want [0 1 2 3] (the first of each near-duplicate pair, up to the limit)", ids)
	}
}

// BenchmarkDropNearDuplicates: the work a search adds to drop near-duplicate
// results, for 20 loaded results of ≈ 750 bytes (a typical turn).
func BenchmarkDropNearDuplicates(b *testing.B) {
	var rs []sage.Result
	for i := range 20 {
		text := fmt.Sprintf("User: how do we make the nightly backup of store %d faster?\n\nAssistant: ", i)
		for j := range 12 {
			text += fmt.Sprintf("Sentence %d of answer %d explains one more step of the backup plan with its own words. ", j, i)
		}
		rs = append(rs, sage.Result{Memory: sage.Memory{ID: int64(i), Text: text}})
	}
	b.ReportAllocs()
	for b.Loop() {
		DropNearDuplicates(rs, 10)
	}
}
