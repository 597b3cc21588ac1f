package labelled

import (
	"context"
	"fmt"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/gate"
)

// Results is how many memories the prompt hook asks for (hook.ContextResults).
const Results = 8

// Asked is a prompt with the results the daemon considered for it, each
// with its retriever hits (the gate's input).
type Asked struct {
	Prompt
	Results []sage.Result
}

// Collect asks svc for every prompt's context as the prompt hook does (its
// project, without its session, Results memories), ungated and recorded
// nowhere, so that any thresholds can be applied to the results after.
func Collect(ctx context.Context, svc sage.Service, prompts []Prompt) ([]Asked, error) {
	out := make([]Asked, 0, len(prompts))
	for _, p := range prompts {
		got, err := svc.Inject(ctx, sage.InjectQuery{
			ContextQuery: sage.ContextQuery{Query: p.Text, MaxResults: Results, MaxChars: sage.MaxMaxChars,
				Filter: sage.Filter{Project: p.Project}, ExcludeSession: p.SessionID},
			DryRun: true,
		})
		if err != nil {
			return nil, fmt.Errorf("prompt %q: %w", p.Text, err)
		}
		out = append(out, Asked{Prompt: p, Results: got.Items})
	}
	return out, nil
}

// Figures are the gate's scores on the labelled set.
type Figures struct {
	Related      int // prompts labelled with a memory
	RelatedRight int // … whose memory the gate injected
	// RelatedExtra counts related prompts that got another memory too.
	RelatedExtra   int
	Unrelated      int // prompts labelled none
	UnrelatedClean int // … for which nothing was injected
	// Misses and Leaks are the failing prompts, for reading.
	Misses, Leaks []string
}

// RelatedRate is the share of related prompts that got their memory.
func (f Figures) RelatedRate() float64 { return ratio(f.RelatedRight, f.Related) }

// CleanRate is the share of unrelated prompts that got nothing.
func (f Figures) CleanRate() float64 { return ratio(f.UnrelatedClean, f.Unrelated) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Evaluate applies th to the collected results of every prompt; ids maps
// the memories' keys to their ids.
func Evaluate(asked []Asked, ids map[string]int64, th gate.Thresholds) Figures {
	return evaluate(asked, ids, th, true)
}

// evaluate is Evaluate, listing the failing prompts only when list is set.
func evaluate(asked []Asked, ids map[string]int64, th gate.Thresholds, list bool) Figures {
	var f Figures
	for _, a := range asked {
		var passed []int64
		for _, r := range a.Results {
			if th.Pass(r) {
				passed = append(passed, r.ID)
			}
		}
		if a.Want == "" {
			f.Unrelated++
			if len(passed) == 0 {
				f.UnrelatedClean++
			} else if list {
				f.Leaks = append(f.Leaks, a.Text)
			}
			continue
		}
		f.Related++
		right := false
		for _, id := range passed {
			if id == ids[a.Want] {
				right = true
			}
		}
		if right {
			f.RelatedRight++
		} else if list {
			f.Misses = append(f.Misses, a.Text)
		}
		if len(passed) > 1 || (len(passed) == 1 && !right) {
			f.RelatedExtra++
		}
	}
	return f
}

// Calibrate searches a grid of thresholds for those that inject the right
// memory most often while unrelated prompts get nothing in at least
// minClean of cases; ties go to fewer extra memories, then to stricter
// thresholds. keywordOnly searches the keyword rule alone (for models
// without vector thresholds).
func Calibrate(asked []Asked, ids map[string]int64, minClean float64, keywordOnly bool) (gate.Thresholds, Figures) {
	steps := func(from, to, step float64) []float64 {
		var out []float64
		for v := from; v <= to+1e-9; v += step {
			out = append(out, v)
		}
		return out
	}
	ks := steps(0.2, 1.0, 0.025)
	vs := append([]float64{0}, steps(0.3, 1.0, 0.025)...)
	if keywordOnly {
		vs = []float64{0}
	}
	var best gate.Thresholds
	var bestF Figures
	found := false
	better := func(th gate.Thresholds, f Figures) bool {
		if !found {
			return true
		}
		if f.RelatedRight != bestF.RelatedRight {
			return f.RelatedRight > bestF.RelatedRight
		}
		if f.UnrelatedClean != bestF.UnrelatedClean {
			return f.UnrelatedClean > bestF.UnrelatedClean
		}
		if f.RelatedExtra != bestF.RelatedExtra {
			return f.RelatedExtra < bestF.RelatedExtra
		}
		return th.Keyword+th.Vector+th.BothKeyword+th.BothVector > best.Keyword+best.Vector+best.BothKeyword+best.BothVector
	}
	for _, k := range ks {
		for _, v := range vs {
			bks, bvs := []float64{0}, []float64{0}
			if v > 0 {
				bks, bvs = steps(0.1, k, 0.025), append([]float64{0}, steps(0.1, v, 0.025)...)
			}
			for _, bk := range bks {
				for _, bv := range bvs {
					th := gate.Thresholds{Keyword: k, Vector: v, BothKeyword: bk, BothVector: bv}
					if bv == 0 {
						th.BothKeyword = 0
					}
					f := evaluate(asked, ids, th, false)
					if f.CleanRate() < minClean {
						continue
					}
					if better(th, f) {
						best, bestF, found = th, f, true
					}
				}
			}
		}
	}
	return best, Evaluate(asked, ids, best)
}
