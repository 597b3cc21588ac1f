package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// exportCommand writes every memory as JSONL.
var exportCommand = transferCommand("Write every memory as JSONL (one api.Memory per line) to file, or stdout.\nThe file is written atomically; \"sage_manage import\" reads it back.",
	manageCommand{flags: manageExport})

func manageExport(fs *flag.FlagSet) manageAction {
	project := fs.String("project", "", "only this project")
	return func(ctx context.Context, m *manageCtx, pos []string) error {
		return exportTo(ctx, m, *project, pos)
	}
}

// exportTo writes the memories of project (all if "") to the file pos names,
// or to stdout.
func exportTo(ctx context.Context, m *manageCtx, project string, pos []string) error {
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	var total int64
	if st, err := c.Status(ctx); err == nil && project == "" {
		total = st.Memories
	}
	var out io.Writer = m.stdout
	var f *os.File
	if len(pos) == 1 && pos[0] != "-" {
		f, err = os.CreateTemp(filepath.Dir(pos[0]), ".sage-export-*")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		out = f
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	bar := newProgress(m.stderr, "export")
	cw := &countingWriter{w: bw, lines: func(n int64) { bar.update(n, total, false) }}
	n, err := c.Export(ctx, project, cw)
	bar.update(int64(n), total, true)
	bar.done()
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.Rename(f.Name(), pos[0]); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(m.stderr, "Exported %s to %s.\n", bridge.Plural(n, "memory", "memories"), pos[0])
	} else if isTerminal(m.stderr) {
		fmt.Fprintf(m.stderr, "Exported %s.\n", bridge.Plural(n, "memory", "memories"))
	}
	return nil
}

// countingWriter counts newlines written through it.
type countingWriter struct {
	w     io.Writer
	n     int64
	lines func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.n++
		}
	}
	c.lines(c.n)
	return c.w.Write(p)
}

// importCommand reads memories from JSONL.
var importCommand = transferCommand("Import memories from JSONL (as written by \"sage_manage export\"), from file or stdin.\nImporting is idempotent: the same file twice stores nothing new.",
	manageCommand{run: manageImport})

func manageImport(ctx context.Context, m *manageCtx, pos []string) error {
	return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (api.ImportResponse, error) {
		var in io.Reader = m.stdin
		var size int64
		if len(pos) == 1 && pos[0] != "-" {
			f, err := os.Open(pos[0])
			if err != nil {
				return api.ImportResponse{}, fmt.Errorf("import: %w", err)
			}
			defer f.Close()
			if fi, err := f.Stat(); err == nil {
				size = fi.Size()
			}
			in = f
		}
		bar := newProgress(m.stderr, "import (bytes)")
		pr := &progressReader{r: in, fn: func(n int64) { bar.update(n, size, false) }}
		res, err := c.Import(ctx, pr)
		bar.update(pr.n, size, true)
		bar.done()
		return res, err
	}, func(res api.ImportResponse) {
		fmt.Fprintf(m.stdout, "Imported %s (%d already there).\n", bridge.Plural(res.Imported, "memory", "memories"), res.Deduplicated)
	})
}

// progressReader reports bytes read.
type progressReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	p.fn(p.n)
	return n, err
}
