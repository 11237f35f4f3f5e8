package models

// FieldTask loads a task the inspector holds.
func (s *Service) FieldTask(tx Tx, a Actor, id string) (InspectionTask, error) {
	var t InspectionTask
	if err := CheckID("task_id", id); err != nil {
		return t, err
	}
	err := GetVisible(tx, &t, id, "task", func() bool { return a.canReadTask(&t) })
	return t, err
}

// OpenFieldTask loads a task the inspector holds and may still record on.
func (s *Service) OpenFieldTask(tx Tx, a Actor, id string) (InspectionTask, error) {
	t, err := s.FieldTask(tx, a, id)
	if err == nil && t.Status != TaskAssigned && t.Status != TaskInProgress {
		err = Errorf(CodeTaskClosed, "the task is %s; nothing more can be recorded on it", t.Status)
	}
	return t, err
}
