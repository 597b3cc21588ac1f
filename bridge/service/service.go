// Package service runs sage-bridge as a background user service and controls
// it through the operating system's service manager (systemd --user on Linux,
// a launchd LaunchAgent on macOS, the Windows service manager), using
// github.com/kardianos/service.
//
// The service ("sage-bridge service run") drains the bridge's outbox of turns
// that could not be delivered while the daemon was down, watches the daemon's
// health (GET /healthz) and, when a compose directory is configured, runs
// "docker compose up -d" there once at start (that is, at login).
//
// kardianos' built-in systemd unit targets multi-user.target, which a user
// manager never reaches, so Config renders its own unit (WantedBy=
// default.target) and its own LaunchAgent plist and passes them fully
// rendered through Config.Option.
package service

import (
	"errors"
	"fmt"
	"html"
	"runtime"
	"strings"

	ksvc "github.com/kardianos/service"
)

// Name is the service's name: the systemd unit is Name+".service", the
// launchd label is Label.
const (
	Name        = "sage-bridge"
	Label       = "dev.sage.bridge"
	DisplayName = "Sage bridge"
	Description = "Sage bridge: drains the outbox of unsent turns and watches sage-daemon"
)

// Actions are the "sage-bridge service" subcommands.
var Actions = []string{"run", "install", "uninstall", "start", "stop", "restart", "status"}

// ErrElevation is returned on Windows when the service manager refuses the
// current user: installing a Windows service needs an elevated prompt.
var ErrElevation = errors.New("the Windows service manager needs an elevated (Administrator) prompt; rerun elevated, or skip the service (sage-installer install --no-service)")

// Config returns the kardianos configuration for the service that runs exe
// with args (normally "service", "run" and flags). It is a user service
// where the OS allows (Linux, macOS), with the unit and plist rendered by
// SystemdUnit and LaunchdPlist.
func Config(exe string, args []string) *ksvc.Config {
	c := &ksvc.Config{
		Name:        Name,
		DisplayName: DisplayName,
		Description: Description,
		Executable:  exe,
		Arguments:   args,
		Option:      ksvc.KeyValue{},
	}
	switch runtime.GOOS {
	case "darwin":
		c.Name = Label
		c.Option["UserService"] = true
		c.Option["KeepAlive"] = true
		c.Option["RunAtLoad"] = true
		c.Option["LaunchdConfig"] = LaunchdPlist(Label, exe, args)
	case "windows":
		c.Option["StartType"] = "automatic"
		c.Option["OnFailure"] = "restart"
	default:
		c.Option["UserService"] = true
		c.Option["SystemdScript"] = SystemdUnit(exe, args)
	}
	return c
}

// SystemdUnit renders the systemd --user unit that runs exe with args. It
// starts with the user's manager (WantedBy=default.target) and restarts on
// failure. It has no template actions left, so kardianos writes it verbatim.
func SystemdUnit(exe string, args []string) string {
	var b strings.Builder
	b.WriteString("[Unit]\n")
	b.WriteString("Description=" + Description + "\n")
	b.WriteString("After=network-online.target\n")
	b.WriteString("\n[Service]\n")
	b.WriteString("Type=simple\n")
	b.WriteString("ExecStart=" + systemdQuote(exe))
	for _, a := range args {
		b.WriteString(" " + systemdQuote(a))
	}
	b.WriteString("\n")
	b.WriteString("Restart=on-failure\n")
	b.WriteString("RestartSec=10\n")
	b.WriteString("\n[Install]\n")
	b.WriteString("WantedBy=default.target\n")
	return b.String()
}

// systemdQuote quotes one ExecStart word: systemd splits on blanks, honours
// double quotes with C-style escapes, and expands % specifiers and $ vars.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

// LaunchdPlist renders the LaunchAgent plist that runs exe with args at
// login (RunAtLoad) and keeps it alive.
func LaunchdPlist(label, exe string, args []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + html.EscapeString(label) + `</string>
	<key>ProgramArguments</key>
	<array>
		<string>` + html.EscapeString(exe) + `</string>
`)
	for _, a := range args {
		b.WriteString("\t\t<string>" + html.EscapeString(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<true/>
	<key>ProcessType</key>
	<string>Background</string>
</dict>
</plist>
`)
	return b.String()
}

// ErrTemplateChars is returned for a path or argument holding "{{", which
// kardianos' template engine would try to interpret in the rendered unit.
var ErrTemplateChars = errors.New(`service: the executable path and arguments must not contain "{{"`)

// New returns the kardianos service for exe/args running program (nil for
// a service that is only controlled, not run).
func New(program ksvc.Interface, exe string, args []string) (ksvc.Service, error) {
	if program == nil {
		program = noop{}
	}
	if strings.Contains(exe+strings.Join(args, " "), "{{") {
		return nil, ErrTemplateChars
	}
	s, err := ksvc.New(program, Config(exe, args))
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	return s, nil
}

type noop struct{}

func (noop) Start(ksvc.Service) error { return nil }
func (noop) Stop(ksvc.Service) error  { return nil }

// State is what Status reports.
type State string

// The states of the service.
const (
	StateNotInstalled State = "not installed"
	StateRunning      State = "running"
	StateStopped      State = "stopped"
	StateUnknown      State = "unknown"
)

// Status asks the service manager about s.
func Status(s ksvc.Service) (State, error) {
	st, err := s.Status()
	switch {
	case errors.Is(err, ksvc.ErrNotInstalled):
		return StateNotInstalled, nil
	case err != nil:
		return StateUnknown, fmt.Errorf("service status: %w", err)
	case st == ksvc.StatusRunning:
		return StateRunning, nil
	case st == ksvc.StatusStopped:
		return StateStopped, nil
	}
	return StateUnknown, nil
}

// Control carries out action (install, uninstall, start, stop, restart) on
// s. install is idempotent (an installed service is left alone), and so is
// uninstall (a missing service is not an error). It returns a one-line
// description of what happened.
func Control(s ksvc.Service, action string) (string, error) {
	st, stErr := Status(s)
	var err error
	switch action {
	case "install":
		if stErr == nil && st != StateNotInstalled {
			return "already installed (" + string(st) + ")", nil
		}
		err = s.Install()
	case "uninstall":
		if stErr == nil && st == StateNotInstalled {
			return "not installed", nil
		}
		if st == StateRunning {
			_ = s.Stop()
		}
		err = s.Uninstall()
	case "start":
		if st == StateRunning {
			return "already running", nil
		}
		err = s.Start()
	case "stop":
		if stErr == nil && st != StateRunning {
			return "not running (" + string(st) + ")", nil
		}
		err = s.Stop()
	case "restart":
		err = s.Restart()
	default:
		return "", fmt.Errorf("service: unknown action %q (want one of %s)", action, strings.Join(Actions, ", "))
	}
	if err != nil {
		if runtime.GOOS == "windows" && isAccessDenied(err) {
			return "", fmt.Errorf("service %s: %w", action, ErrElevation)
		}
		return "", fmt.Errorf("service %s: %w", action, err)
	}
	return action + " done", nil
}

func isAccessDenied(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "access is denied")
}
