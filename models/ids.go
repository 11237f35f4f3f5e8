package models

import (
	"regexp"
	"sort"
)

// ValidID reports whether s is a UUID in its canonical text form.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// CheckID validates a client-supplied id.
func CheckID(field, id string) error {
	if !ValidID(id) {
		return FieldError(CodeInvalidID, field, "%s must be a UUID", field)
	}
	return nil
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidSHA256 reports whether s is a SHA-256 digest in lower-case hex.
func ValidSHA256(s string) bool { return sha256Pattern.MatchString(s) }

// IDsOf gathers the ids ids returns for each of rows.
func IDsOf[T any](rows []T, ids func(T) []string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, ids(r)...)
	}
	return out
}

// UniqueSorted returns the non-empty ids once each, sorted.
func UniqueSorted(ids []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
