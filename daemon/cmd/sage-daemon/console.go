package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/daemon/console"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
)

// startConsole serves the web console on cfg.ConsoleListen (nothing when
// empty) and returns the function that stops it. A console that cannot
// listen (the port is taken) is logged and left out: the memory service
// does not depend on it.
func startConsole(cfg config.Config, log *slog.Logger, srv *sagehttp.Server) (stop func()) {
	if cfg.ConsoleListen == "" {
		return func() {}
	}
	clog := log.With("component", "console")
	ln, err := net.Listen("tcp", cfg.ConsoleListen)
	if err != nil {
		clog.Error("console not served: set SAGE_CONSOLE_LISTEN to a free address, or off", "err", fmt.Errorf("listen: %w", err))
		return func() {}
	}
	hs := &http.Server{Handler: console.New(srv, console.Options{Logger: clog}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(clog.Handler(), slog.LevelDebug)}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			clog.Error("console stopped", "err", err)
		}
	}()
	clog.Info("console listening", "url", "http://"+ln.Addr().String()+console.Prefix+"/")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}
}
