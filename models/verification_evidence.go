package models

// MaxEvidencePerVerification bounds the photos of one verification.
const MaxEvidencePerVerification = 100

// ListEvidenceOn adds an evidence id to the verification's evidence_ids
// (once), so that the inspector's next pull carries the new list: an
// attachment by sync, or evidence declared with the verification's id.
func (s *Service) ListEvidenceOn(tx Tx, a Actor, v *Verification, evidenceID, field string) error {
	for _, id := range v.EvidenceIDs {
		if id == evidenceID {
			return nil
		}
	}
	if len(v.EvidenceIDs) >= MaxEvidencePerVerification {
		return FieldError(CodeValidation, field, "a verification holds at most %d evidence records", MaxEvidencePerVerification)
	}
	v.EvidenceIDs = append(v.EvidenceIDs, evidenceID)
	v.Version++
	v.UpdatedAt = s.Time()
	if err := tx.Update(v); err != nil {
		return err
	}
	return s.Changed(tx, EntityVerifications, v.ID, v.Version, OpUpsert, ScopeUser(a.UserID), ScopeUnit(v.UnitPath))
}
