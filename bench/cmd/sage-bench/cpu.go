package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const userHZ = 100

// cpuTicks returns the user + system CPU time of pid in ticks of 1/userHZ s.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(b))
}

// parseStatTicks reads utime + stime (fields 14 and 15) of a
// /proc/<pid>/stat line; the command name (field 2) may hold spaces.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("odd /proc stat line")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("odd /proc stat line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("odd /proc stat line")
	}
	return u + s, nil
}

// cpuMeter samples the CPU time of the benchmark client, the daemon and
// the PostgreSQL backends serving the benchmark database (when it runs on
// this machine: their /proc entries are readable).
type cpuMeter struct {
	daemonPID int    // 0: unknown
	dbURL     string // "": PostgreSQL not measured
	dbName    string
}

// cpuSample is one sample of cpuMeter, in ticks.
type cpuSample struct {
	client, daemon int64
	backends       map[int]int64 // pid -> ticks; nil: not measured
}

// cpuPerCall is CPU time per call, in milliseconds, of each process. Its
// sum is what one call costs the machine, whatever the load: on an idle
// machine with one client the latency cannot be lower.
type cpuPerCall struct {
	Client   float64  `json:"client_ms"`
	Daemon   *float64 `json:"daemon_ms,omitempty"`
	Postgres *float64 `json:"postgres_ms,omitempty"`
}

func (m *cpuMeter) sample(ctx context.Context) cpuSample {
	var s cpuSample
	s.client, _ = cpuTicks(os.Getpid())
	if m.daemonPID > 0 {
		s.daemon, _ = cpuTicks(m.daemonPID)
	}
	if m.dbURL == "" {
		return s
	}
	conn, err := pgx.Connect(ctx, m.dbURL)
	if err != nil {
		return s
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, m.dbName)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return s
	}
	s.backends = map[int]int64{}
	for _, pid := range pids {
		if t, err := cpuTicks(int(pid)); err == nil {
			s.backends[int(pid)] = t
		}
	}
	if len(pids) > 0 && len(s.backends) == 0 {
		s.backends = nil // another machine, or no permission
	}
	return s
}

// perCall returns the CPU used between a and b divided by calls. A backend
// started in between counts whole; one gone in between is lost (the daemon
// keeps its pool's connections, so that is rare).
func (m *cpuMeter) perCall(a, b cpuSample, calls int) *cpuPerCall {
	ms := func(ticks int64) float64 { return float64(ticks) * 1000 / userHZ / float64(calls) }
	c := &cpuPerCall{Client: ms(b.client - a.client)}
	if m.daemonPID > 0 {
		d := ms(b.daemon - a.daemon)
		c.Daemon = &d
	}
	if a.backends != nil && b.backends != nil {
		var t int64
		for pid, tb := range b.backends {
			t += tb - a.backends[pid]
		}
		p := ms(t)
		c.Postgres = &p
	}
	return c
}
