package bridge

import "strconv"

// Plural returns n with the noun in the right number: "1 memory",
// "0 memories", "2 memories". one and many are the singular and plural.
func Plural[N ~int | ~int32 | ~int64](n N, one, many string) string {
	noun := many
	if n == 1 || n == -1 {
		noun = one
	}
	return strconv.FormatInt(int64(n), 10) + " " + noun
}
