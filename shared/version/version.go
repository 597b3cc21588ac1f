// Package version is the version of Sage's binaries, one mechanism for all
// three: a variable that releases set at build time, else what the Go
// toolchain recorded in the binary.
package version

import "runtime/debug"

// Var is the full name of Version for the linker's -X flag:
//
//	go build -ldflags "-X github.com/sage-mcp/sage/shared/version.Version=v1.2.3"
//
// goreleaser.yaml, the Makefile and the Dockerfiles set it.
const Var = "github.com/sage-mcp/sage/shared/version.Version"

// Version is the release version, set at build time with -X (see Var); empty
// in other builds.
var Version = ""

// String is the version of the running binary: Version when set, else the
// module version or VCS revision the Go toolchain recorded ("dev-<12 hex
// digits of the commit>", "-dirty" when the tree had changes), else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(info)
}

// fromBuildInfo is String's fallback: the main module's version, else the
// VCS revision, else "dev".
func fromBuildInfo(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
