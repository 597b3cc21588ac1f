// Command printversion prints version.String(), for version_test.go.
package main

import (
	"fmt"

	"github.com/sage-mcp/sage/shared/version"
)

func main() { fmt.Println(version.String()) }
