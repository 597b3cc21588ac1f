package sage

import "time"

// Count is a number of memories under a name (a project, a kind).
type Count struct {
	Name string
	N    int64
}

// DayCount is a number of events on one UTC day.
type DayCount struct {
	Day time.Time // midnight UTC
	N   int64
}

// Overview sums up a namespace's store for the console.
type Overview struct {
	Memories  int64
	ByProject []Count // most memories first
	ByKind    []Count // most memories first
	// MemoriesPerDay and InjectionsPerDay cover the last Days days, oldest
	// first, one entry a day (zero included).
	MemoriesPerDay   []DayCount
	InjectionsPerDay []DayCount
	Pending          int64 // memories waiting for a vector
	DatabaseBytes    int64 // the whole database, every namespace
}

// MaxOverviewDays bounds the days of an Overview's charts.
const MaxOverviewDays = 90
