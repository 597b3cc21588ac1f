// Package installer holds the domain of sage-installer, which puts
// sage-bridge on PATH, writes the client config, registers Sage with Claude
// Code, adds the hooks and installs the bridge as a user service.
//
// This root package has the typed options (Options, with defaults and
// Validate), the install manifest that lets uninstall restore what install
// changed (Manifest), the Plan that every command builds first and then
// either prints (--dry-run) or applies, the planners of install and
// uninstall (PlanInstall, PlanUninstall) and the checks of status (Status). Claude Code's files and CLI are in
// package claude, order-preserving JSON editing in jsonfile, safe file
// operations in files, and the binary in cmd/sage-installer.
package installer
