package models

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

// checkID validates a client-supplied id.
func checkID(field, id string) error {
	if !ValidID(id) {
		return FieldError(CodeInvalidID, field, "%s must be a UUID", field)
	}
	return nil
}
