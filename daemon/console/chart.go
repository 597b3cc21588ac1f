package console

import (
	"strconv"

	sage "github.com/sage-mcp/sage/daemon"
)

// Chart geometry (SVG user units).
const (
	chartW    = 600
	chartH    = 160
	chartPadL = 40
	chartPadB = 20
	chartPadT = 10
)

// chart is a bar chart of daily counts, drawn by the template as SVG.
type chart struct {
	W, H         int
	Bars         []bar
	Max          int64
	Total        int64
	FirstLabel   string
	LastLabel    string
	BaseY, AxisX int
	MaxY         int
	LabelY       int
	LastLabelX   int
	MaxLabelX    int
	Empty        bool
}

type bar struct {
	X, Y, W, H int
	Title      string
}

func newChart(days []sage.DayCount) chart {
	c := chart{W: chartW, H: chartH, BaseY: chartH - chartPadB, AxisX: chartPadL, MaxY: chartPadT,
		LabelY: chartH - 4, LastLabelX: chartW, MaxLabelX: chartPadL - 4}
	for _, d := range days {
		c.Max = max(c.Max, d.N)
		c.Total += d.N
	}
	c.Empty = c.Total == 0
	if len(days) == 0 {
		return c
	}
	c.FirstLabel = days[0].Day.Format("01-02")
	c.LastLabel = days[len(days)-1].Day.Format("01-02")
	slot := (chartW - chartPadL) / len(days)
	bw := max(1, slot*3/4)
	plot := chartH - chartPadB - chartPadT
	for i, d := range days {
		h := 0
		if c.Max > 0 {
			h = int(int64(plot) * d.N / c.Max)
		}
		if d.N > 0 && h < 1 {
			h = 1
		}
		c.Bars = append(c.Bars, bar{X: chartPadL + i*slot + (slot-bw)/2, Y: chartH - chartPadB - h, W: bw, H: h,
			Title: d.Day.Format("2006-01-02") + ": " + strconv.FormatInt(d.N, 10)})
	}
	return c
}

// share is a count with its width in a horizontal bar (0–100).
type share struct {
	Name  string
	N     int64
	Width int
}

func shares(cs []sage.Count, limit int) []share {
	var top int64
	for _, c := range cs {
		top = max(top, c.N)
	}
	out := make([]share, 0, min(len(cs), limit))
	for i, c := range cs {
		if i == limit {
			break
		}
		w := 0
		if top > 0 {
			w = int(100 * c.N / top)
		}
		out = append(out, share{Name: c.Name, N: c.N, Width: max(w, 1)})
	}
	return out
}
