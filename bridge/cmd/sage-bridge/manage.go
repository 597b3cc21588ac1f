package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/config"
	"github.com/sage-mcp/sage/shared/textcut"
)

const manageUsage = `Usage: sage_manage <command> [flags] [args]
       (also: sage-bridge manage <command> …)

Commands:
  status                 the daemon's version, store and embedder
  search <query>         search memories ("sage_manage search 记忆")
  sessions               list recent sessions
  show <session>         show a session's memories
  forget <id>… | --session <id>
                         delete memories or a whole session
  export [file]          write every memory as JSONL (stdout by default)
  import [file]          read memories from JSONL (stdin by default)
  reindex                re-embed memories of another embedding model (admin)
  sync                   deliver turns queued in the local outbox
  token issue|list|revoke
                         manage access tokens (admin)
  injections             list the context injected into prompts (--session ID)
  why "<prompt>"         what the prompt hook would inject now, and why

Common flags (after the command): --url, --token, --token-file, --json,
--timeout. Settings come from flags, then SAGE_URL / SAGE_TOKEN /
SAGE_TOKEN_FILE, then the config file ($SAGE_CONFIG or the user config dir).
Run "sage_manage <command> -h" for a command's flags.
`

// manageCommands maps each subcommand's name to the command.
var manageCommands = map[string]manageCommand{
	"status":   statusCommand,
	"search":   searchCommand,
	"sessions": sessionsCommand,
	"show":     showCommand,
	"forget":   forgetCommand,
	"export":   exportCommand,
	"import":   importCommand,
	"reindex":  reindexCommand,
	"sync":     syncCommand,
	"token":    tokenCommand,
	// The injection audit.
	"injections": injectionsCommand,
	"why":        whyCommand,
}

// manageCommand is one sage_manage subcommand: what its help says, the
// arguments and flags it takes, and what it does.
type manageCommand struct {
	// usage follows "sage_manage <name>" in the help's first line; help
	// explains the command.
	usage, help string
	// minArgs and maxArgs bound the positional arguments (maxArgs < 0: any
	// number); want is the usage error otherwise ("takes no arguments" when
	// empty).
	minArgs, maxArgs int
	want             string
	// untimed commands (bulk transfers) run without a time limit unless
	// --timeout is given.
	untimed bool
	// run is the command's action. A command with flags of its own sets
	// flags instead: it defines them on fs and returns the action.
	run   manageAction
	flags func(fs *flag.FlagSet) manageAction
	// dispatch, when set, gets the arguments unparsed and does all itself
	// (token, which picks an action first).
	dispatch func(ctx context.Context, m *manageCtx, args []string) error
}

// manageAction runs a command once its flags are parsed; pos holds the
// positional arguments.
type manageAction func(ctx context.Context, m *manageCtx, pos []string) error

// errUsage marks a usage error (exit code 2); the message was printed.
var errUsage = errors.New("usage")

// runManage is the sage_manage CLI.
func runManage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, manageUsage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, manageUsage)
		return 0
	}
	cmd, ok := manageCommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sage_manage: unknown command %q\n\n%s", args[0], manageUsage)
		return 2
	}
	m := &manageCtx{name: args[0], stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	err := m.run(ctx, cmd, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "sage_manage %s: %s\n", m.name, m.explain(err))
	return 1
}

// manageCtx is what every subcommand shares: its flags and I/O.
type manageCtx struct {
	name   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	fs        *flag.FlagSet
	url       string
	token     string
	tokenFile string
	json      bool
	timeout   time.Duration

	cfg config.Config
}

// flags returns the subcommand's flag set with the common flags defined.
func (m *manageCtx) flags(usage, help string) *flag.FlagSet {
	fs := flag.NewFlagSet("sage_manage "+m.name, flag.ContinueOnError)
	fs.SetOutput(m.stderr)
	fs.StringVar(&m.url, "url", "", "daemon MCP URL (default from SAGE_URL or the config file)")
	fs.StringVar(&m.token, "token", "", "bearer token (prefer SAGE_TOKEN or --token-file)")
	fs.StringVar(&m.tokenFile, "token-file", "", "file holding the bearer token")
	fs.BoolVar(&m.json, "json", false, "machine-readable JSON output")
	fs.DurationVar(&m.timeout, "timeout", 30*time.Second, "give up after this long (0: never)")
	fs.Usage = func() {
		fmt.Fprintf(m.stderr, "Usage: sage_manage %s %s\n\n%s\n\nFlags:\n", m.name, usage, help)
		fs.PrintDefaults()
	}
	m.fs = fs
	return fs
}

// parse parses args, allowing flags after positional arguments.
func (m *manageCtx) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := m.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = m.fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// run parses args with cmd's flags and runs it.
func (m *manageCtx) run(ctx context.Context, cmd manageCommand, args []string) error {
	if cmd.dispatch != nil {
		return cmd.dispatch(ctx, m, args)
	}
	fs := m.flags(cmd.usage, cmd.help)
	action := cmd.run
	if cmd.flags != nil {
		action = cmd.flags(fs)
	}
	want := cmd.want
	if want == "" {
		want = "takes no arguments"
	}
	pos, err := m.parseN(args, cmd.minArgs, cmd.maxArgs, want)
	if err != nil {
		return err
	}
	if cmd.untimed && !isSet(fs, "timeout") {
		m.timeout = 0
	}
	return action(ctx, m, pos)
}

// transferCommand is a bulk transfer (export, import): it reads or writes
// the file its one optional argument names ("-" or none: stdout or stdin)
// and runs without a time limit unless --timeout is given.
func transferCommand(help string, c manageCommand) manageCommand {
	c.usage, c.help = "[file] [flags]", help
	c.maxArgs, c.want = 1, "at most one file"
	c.untimed = true
	return c
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// usageErr prints msg and the usage and returns errUsage.
func (m *manageCtx) usageErr(format string, a ...any) error {
	fmt.Fprintf(m.stderr, "sage_manage %s: %s\n", m.name, fmt.Sprintf(format, a...))
	m.fs.Usage()
	return errUsage
}

// client resolves the configuration and returns a client of the daemon.
func (m *manageCtx) client() (*client.Client, error) {
	path, err := config.PathFrom(m.getenv)
	if err != nil {
		return nil, err
	}
	file, err := config.LoadOptional(path)
	if err != nil {
		return nil, err
	}
	m.cfg, err = config.Resolve(config.Flags{URL: m.url, Token: m.token, TokenFile: m.tokenFile}, m.getenv, file)
	if err != nil {
		return nil, err
	}
	m.cfg.FilePath = path
	c := client.New(m.cfg.BaseURL(), m.cfg.Token)
	c.UserAgent = "sage_manage"
	return c, nil
}

// parseN parses args and checks that at least min and at most max (< 0:
// any number) positional arguments came; want says what to give otherwise.
func (m *manageCtx) parseN(args []string, min, max int, want string) ([]string, error) {
	pos, err := m.parse(args)
	if err != nil {
		return nil, err
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, m.usageErr("%s", want)
	}
	return pos, nil
}

// connect returns a client of the daemon and ctx bounded by --timeout; the
// caller calls cancel when done (also after an error).
func (m *manageCtx) connect(ctx context.Context) (*client.Client, context.Context, context.CancelFunc, error) {
	c, err := m.client()
	if err != nil {
		return nil, ctx, func() {}, err
	}
	ctx, cancel := m.withTimeout(ctx)
	return c, ctx, cancel, nil
}

// textArg joins the positional arguments into one text (a query, a
// prompt); without one it is a usage error saying want.
func (m *manageCtx) textArg(pos []string, want string) (string, error) {
	text := strings.TrimSpace(strings.Join(pos, " "))
	if text == "" {
		return "", m.usageErr("%s", want)
	}
	return text, nil
}

// manageCall connects to the daemon, calls call within --timeout and prints
// its answer: as JSON with --json, else with text.
func manageCall[T any](ctx context.Context, m *manageCtx, call func(context.Context, *client.Client) (T, error), text func(T)) error {
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	v, err := call(ctx, c)
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(v)
	}
	text(v)
	return nil
}

// withTimeout applies --timeout to ctx.
func (m *manageCtx) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, m.timeout)
}

// printJSON writes v as indented JSON.
func (m *manageCtx) printJSON(v any) error {
	enc := json.NewEncoder(m.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// explain turns an error into an actionable message.
func (m *manageCtx) explain(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, client.ErrUnreachable):
		return fmt.Sprintf("%s\n  The daemon at %s (URL from %s) is not answering. Is sage-daemon running?\n"+
			"  Check with \"sage-bridge doctor\"; set the URL with --url, SAGE_URL or \"url\" in %s.",
			msg, m.cfg.BaseURL(), m.cfg.URLSource, m.cfg.FilePath)
	case errors.Is(err, client.ErrUnauthorized):
		return fmt.Sprintf("%s\n  The daemon refused the token (token from %s). Set a valid token with\n"+
			"  SAGE_TOKEN, --token-file or \"token_file\" in %s. The daemon's admin token:\n"+
			"  \"docker compose exec sage sage-daemon token show\" (compose) or \"sage-daemon token show\" (native);\n"+
			"  an admin can issue more with \"sage_manage token issue\".",
			msg, m.cfg.TokenSource, m.cfg.FilePath)
	case errors.Is(err, client.ErrForbidden):
		return msg + "\n  This token lacks the scope for this command (reindex and token need an admin token)."
	case errors.Is(err, config.ErrInvalid):
		return msg + "\n  Fix the setting (see \"sage-bridge doctor\")."
	}
	return msg
}

// oneLine squeezes whitespace and cuts s to n runes.
func oneLine(s string, n int) string {
	return textcut.Runes(strings.Join(strings.Fields(s), " "), n, textcut.Ellipsis)
}

// printLines prints text's lines, trimmed of leading and trailing blank
// space, each after indent.
func printLines(w io.Writer, indent, text string) {
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		fmt.Fprintf(w, "%s%s\n", indent, l)
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws a one-line progress bar on a terminal; elsewhere it is
// silent.
type progress struct {
	w     io.Writer
	label string
	on    bool
	last  time.Time
}

func newProgress(w io.Writer, label string) *progress {
	return &progress{w: w, label: label, on: isTerminal(w)}
}

// update redraws the bar, at most every 100 ms unless force.
func (p *progress) update(done, total int64, force bool) {
	if !p.on || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	if total <= 0 {
		fmt.Fprintf(p.w, "\r%s %d", p.label, done)
		return
	}
	const width = 30
	frac := min(float64(done)/float64(total), 1)
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %3.0f%%", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total, frac*100)
}

// done ends the bar's line.
func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
