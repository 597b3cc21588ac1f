// Package outbox is sage-bridge's durable queue of turns that could not be
// delivered to sage-daemon (daemon down, 5xx, timeout). Hooks append to it;
// the next hook run, `sage_manage sync` and the bridge service drain it.
//
// Layout: one file per entry in the outbox directory, named
// "<unix nanoseconds>-<random>.json" so that names sort in append order.
// An entry is written to a temporary file, fsynced, renamed into place and
// the directory fsynced, so an entry is either wholly there or absent.
// Appending takes no lock. Draining holds an exclusive file lock
// (".lock", github.com/gofrs/flock: flock on Unix, LockFileEx on Windows),
// so two processes never send the same entry at once; an entry is removed
// only after the daemon acknowledged it, and every turn carries an
// idempotency key, so a crash between the two replays it without duplicating
// it. Delivery is therefore exactly once as seen in the daemon.
//
// An entry that cannot be decoded, or that the daemon rejects as invalid, is
// moved to the "quarantine" subdirectory, reported, and the rest still
// replays.
package outbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/config"
)

// EnvDir overrides the outbox directory (tests, unusual setups).
const EnvDir = "SAGE_OUTBOX_DIR"

// Limits and defaults.
const (
	// MaxEntry is the largest entry file accepted; larger ones are quarantined.
	MaxEntry = 4 << 20
	// DefaultBatch is how many entries Drain sends per request.
	DefaultBatch = 50
	// EntryVersion is the entry format version written by Append.
	EntryVersion = 1
	// KindTurn is the kind of an entry holding an api.Turn.
	KindTurn = "turn"
	// QuarantineDir is the subdirectory corrupt or rejected entries go to.
	QuarantineDir = "quarantine"
)

// Errors.
var (
	// ErrCorrupt marks an entry that cannot be decoded.
	ErrCorrupt = errors.New("corrupt outbox entry")
	// ErrBusy means another process holds the drain lock and the context
	// ended before it was released.
	ErrBusy = errors.New("outbox busy")
)

// Entry is one queued item.
type Entry struct {
	// Version is the entry format version (EntryVersion).
	Version int `json:"v"`
	// Kind is KindTurn.
	Kind string `json:"kind"`
	// CreatedAt is when the entry was appended.
	CreatedAt time.Time `json:"created_at"`
	// Turn is the turn to deliver.
	Turn *api.Turn `json:"turn,omitempty"`
}

// Encode returns the file content of e.
func Encode(e Entry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode outbox entry: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses and validates an entry file's content. Any problem is an
// error wrapping ErrCorrupt.
func Decode(b []byte) (Entry, error) {
	var e Entry
	if len(b) > MaxEntry {
		return e, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, MaxEntry)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if dec.More() {
		return Entry{}, fmt.Errorf("%w: trailing data", ErrCorrupt)
	}
	switch {
	case e.Version != EntryVersion:
		return Entry{}, fmt.Errorf("%w: unknown version %d", ErrCorrupt, e.Version)
	case e.Kind != KindTurn:
		return Entry{}, fmt.Errorf("%w: unknown kind %q", ErrCorrupt, e.Kind)
	case e.Turn == nil:
		return Entry{}, fmt.Errorf("%w: no turn", ErrCorrupt)
	case e.Turn.IdempotencyKey == "":
		return Entry{}, fmt.Errorf("%w: turn has no idempotency key", ErrCorrupt)
	case e.Turn.UserPrompt == "" && e.Turn.AssistantResponse == "":
		return Entry{}, fmt.Errorf("%w: empty turn", ErrCorrupt)
	}
	return e, nil
}

// Sender delivers turns to the daemon, all or none (one request).
//
// An error that has a method Rejected() bool returning true means the daemon
// refused the content itself (invalid, too large): retrying cannot help, and
// Drain quarantines the entry. Any other error is transient: Drain stops and
// keeps the entries for later.
type Sender interface {
	SendTurns(ctx context.Context, turns []api.Turn) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, turns []api.Turn) error

// SendTurns calls f.
func (f SenderFunc) SendTurns(ctx context.Context, turns []api.Turn) error { return f(ctx, turns) }

// Outbox is an outbox directory.
type Outbox struct {
	dir    string
	logger *slog.Logger
	// Batch is how many entries Drain sends per request (DefaultBatch if 0).
	Batch int
}

// EnvCacheDir moves all of Sage's local cache (outbox included).
const EnvCacheDir = config.EnvCacheDir

// DefaultDir is $SAGE_OUTBOX_DIR, else $SAGE_CACHE_DIR/outbox, else
// os.UserCacheDir()/sage/outbox.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	c, err := config.CacheDir(os.Getenv)
	if err != nil {
		return "", fmt.Errorf("outbox dir: %w", err)
	}
	return filepath.Join(c, "outbox"), nil
}

// Open returns the outbox in dir, creating it (mode 0700). logger may be nil.
func Open(dir string, logger *slog.Logger) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Join(dir, QuarantineDir), 0o700); err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{dir: dir, logger: logger}, nil
}

// Dir is the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// Append queues t durably: when Append returns nil the entry survives a
// crash or power loss. t must carry an idempotency key.
func (o *Outbox) Append(t api.Turn) error {
	if t.IdempotencyKey == "" {
		return errors.New("append to outbox: turn has no idempotency key")
	}
	b, err := Encode(Entry{Version: EntryVersion, Kind: KindTurn, CreatedAt: time.Now().UTC(), Turn: &t})
	if err != nil {
		return err
	}
	if len(b) > MaxEntry {
		return fmt.Errorf("append to outbox: entry larger than %d bytes", MaxEntry)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%020d-%s.json", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	if err := writeFileSync(o.dir, name, b); err != nil {
		return fmt.Errorf("append to outbox: %w", err)
	}
	return nil
}

// writeFileSync writes dir/name atomically and durably.
func writeFileSync(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename or removal in it is durable.
// Windows cannot open directories for sync; NTFS metadata is journaled.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Pending lists the queued entry names in delivery order.
func (o *Outbox) Pending() ([]string, error) {
	des, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	var names []string
	for _, de := range des {
		n := de.Name()
		if de.Type().IsRegular() && strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Quarantined lists the entry names in the quarantine directory.
func (o *Outbox) Quarantined() ([]string, error) {
	des, err := os.ReadDir(filepath.Join(o.dir, QuarantineDir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() && !strings.HasSuffix(de.Name(), ".reason") {
			names = append(names, de.Name())
		}
	}
	return names, nil
}

// Quarantine describes an entry moved aside.
type Quarantine struct {
	Name   string
	Reason string
}

// Result is what a Drain did.
type Result struct {
	// Sent counts entries the daemon acknowledged (and that were removed).
	Sent int
	// Quarantined lists entries moved aside during this drain.
	Quarantined []Quarantine
	// Remaining counts entries still queued when Drain returned.
	Remaining int
}

// Lock takes the drain lock, waiting until ctx ends (ErrBusy). The
// returned function releases it.
func (o *Outbox) Lock(ctx context.Context) (unlock func(), err error) {
	fl := flock.New(filepath.Join(o.dir, ".lock"))
	ok, err := fl.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("lock outbox: %w", err)
	}
	if !ok {
		return nil, ErrBusy
	}
	return func() { _ = fl.Unlock(); _ = fl.Close() }, nil
}

// Drain delivers queued entries in order through s until the outbox is
// empty, a transient error occurs, or ctx ends. It holds the drain lock
// (waiting for it until ctx ends: ErrBusy). Entries the sender acknowledges
// are removed; corrupt or rejected ones are quarantined. The returned error
// is the transient delivery error, if any; Result is valid either way.
func (o *Outbox) Drain(ctx context.Context, s Sender) (Result, error) {
	var res Result
	unlock, err := o.Lock(ctx)
	if err != nil {
		res.Remaining = o.count()
		return res, err
	}
	defer unlock()
	o.cleanTemps()
	batch := o.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	for {
		if err := ctx.Err(); err != nil {
			res.Remaining = o.count()
			return res, fmt.Errorf("drain outbox: %w", err)
		}
		names, err := o.Pending()
		if err != nil {
			return res, err
		}
		if len(names) == 0 {
			return res, nil
		}
		names = names[:min(len(names), batch)]
		var turns []api.Turn
		var sendNames []string
		for _, n := range names {
			e, err := o.read(n)
			if err != nil {
				o.quarantine(&res, n, err.Error())
				continue
			}
			turns = append(turns, *e.Turn)
			sendNames = append(sendNames, n)
		}
		if len(turns) == 0 {
			continue
		}
		if err := o.send(ctx, s, turns, sendNames, &res); err != nil {
			res.Remaining = o.count()
			return res, fmt.Errorf("drain outbox: %w", err)
		}
	}
}

// send delivers one batch; on a rejection it retries the entries one by one
// to quarantine only the bad ones.
func (o *Outbox) send(ctx context.Context, s Sender, turns []api.Turn, names []string, res *Result) error {
	err := s.SendTurns(ctx, turns)
	if err == nil {
		o.remove(names)
		res.Sent += len(names)
		return nil
	}
	if !rejected(err) {
		return err
	}
	if len(turns) == 1 {
		o.quarantine(res, names[0], "rejected by the daemon: "+err.Error())
		return nil
	}
	for i := range turns {
		if err := o.send(ctx, s, turns[i:i+1], names[i:i+1], res); err != nil {
			return err
		}
	}
	return nil
}

func rejected(err error) bool {
	var r interface{ Rejected() bool }
	return errors.As(err, &r) && r.Rejected()
}

func (o *Outbox) read(name string) (Entry, error) {
	f, err := os.Open(filepath.Join(o.dir, name))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxEntry+1))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: read: %v", ErrCorrupt, err)
	}
	return Decode(b)
}

func (o *Outbox) remove(names []string) {
	for _, n := range names {
		if err := os.Remove(filepath.Join(o.dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			o.logger.Warn("outbox: remove delivered entry", "entry", n, "err", err)
		}
	}
	if err := syncDir(o.dir); err != nil {
		o.logger.Warn("outbox: sync dir", "err", err)
	}
}

func (o *Outbox) quarantine(res *Result, name, reason string) {
	qdir := filepath.Join(o.dir, QuarantineDir)
	_ = os.MkdirAll(qdir, 0o700)
	if err := os.Rename(filepath.Join(o.dir, name), filepath.Join(qdir, name)); err != nil {
		o.logger.Error("outbox: quarantine entry", "entry", name, "err", err)
		// Remove it from the queue anyway so the rest replays.
		_ = os.Remove(filepath.Join(o.dir, name))
	}
	_ = os.WriteFile(filepath.Join(qdir, name+".reason"), []byte(reason+"\n"), 0o600)
	_ = syncDir(o.dir)
	_ = syncDir(qdir)
	o.logger.Warn("outbox: entry quarantined", "entry", name, "reason", reason)
	res.Quarantined = append(res.Quarantined, Quarantine{Name: name, Reason: reason})
}

// cleanTemps removes temporary files left by an Append that crashed.
func (o *Outbox) cleanTemps() {
	des, err := os.ReadDir(o.dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), ".tmp-") {
			continue
		}
		if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.Remove(filepath.Join(o.dir, de.Name()))
		}
	}
}

func (o *Outbox) count() int {
	n, _ := o.Pending()
	return len(n)
}

// Drain drains the default outbox (DefaultDir) through s; it is what the
// bridge service calls periodically. logger may be nil.
func Drain(ctx context.Context, s Sender, logger *slog.Logger) (Result, error) {
	dir, err := DefaultDir()
	if err != nil {
		return Result{}, err
	}
	o, err := Open(dir, logger)
	if err != nil {
		return Result{}, err
	}
	return o.Drain(ctx, s)
}
