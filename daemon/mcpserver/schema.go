package mcpserver

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
)

// typeSchemas overrides the SDK's inference where it would be wrong:
// json.RawMessage (metadata) is a JSON object, not an array of bytes.
var typeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage](): {Types: []string{"null", "object"}},
}

// schemaFor infers the JSON schema of T and lets edit refine it (limits,
// enums, defaults). It panics on a type that has no schema: a programming
// error caught by every test.
func schemaFor[T any](edit func(s *jsonschema.Schema)) *jsonschema.Schema {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		panic(fmt.Sprintf("mcpserver: schema of %T: %v", *new(T), err))
	}
	if edit != nil {
		edit(s)
	}
	return s
}

// prop returns the property name of s, panicking when there is none, so a
// renamed field cannot silently lose its limits.
func prop(s *jsonschema.Schema, name string) *jsonschema.Schema {
	p, ok := s.Properties[name]
	if !ok {
		panic(fmt.Sprintf("mcpserver: schema has no property %q", name))
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// enum restricts a string property to values.
func enum[T ~string](s *jsonschema.Schema, name string, values ...T) {
	p := prop(s, name)
	p.Enum = make([]any, len(values))
	for i, v := range values {
		p.Enum[i] = string(v)
	}
}

// notNull drops "null" from the types of optional properties: a nil slice
// or raw message is just left out.
func notNull(s *jsonschema.Schema, names ...string) {
	for _, name := range names {
		p := prop(s, name)
		for _, t := range p.Types {
			if t != "null" {
				p.Type, p.Types = t, nil
			}
		}
	}
}

// plainString makes optional pointer-to-string properties plain strings in the
// schema: the pointer only tells an argument left out (nil) from an empty
// one, and null is not a value to send.
func plainString(s *jsonschema.Schema, names ...string) {
	for _, name := range names {
		p := prop(s, name)
		p.Type, p.Types = "string", nil
	}
}
