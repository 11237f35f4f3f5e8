package pack

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
)

// labels are the report's names for the stored enumerations: the people
// who read a pack are supervisors and the public of a Chinese city, not
// the API's clients. An unknown value shows as it is stored.
var labels = map[string]string{
	// item and task statuses
	models.ItemNotStarted: "未开始", models.ItemInProgress: "进行中", models.ItemPendingAcceptance: "待验收",
	models.ItemAccepted: "已验收销号", models.ItemRejected: "验收未通过", models.ItemReopened: "重新打开",
	models.TaskUnassigned: "未分配", models.TaskAssigned: "已分配", models.TaskCompleted: "已完成", models.TaskCancelled: "已取消",
	// task kinds, conclusions
	models.TaskProgressCheck: "进度核查", models.TaskAcceptanceCheck: "验收核查",
	models.ConclusionRectified: "已整改", models.ConclusionPartiallyRectified: "部分整改",
	models.ConclusionNotRectified: "未整改", models.ConclusionSuspectedFake: "疑似虚假整改",
	// evidence
	"photo": "照片", "signature": "签名", "document": "文件",
	// (evidence statuses share words with item and task statuses)
	"evidence." + models.EvidencePending: "待上传", "evidence." + models.EvidenceVerified: "已核验", "evidence." + models.EvidenceRejected: "已拒收",
	// decisions
	models.DecisionAccept: "验收通过", models.DecisionReject: "退回整改", models.DecisionReopen: "重新打开",
	// roles, supervision levels, unit kinds
	models.RoleAdmin: "管理员", models.RoleSupervisor: "督察人员", models.RoleInspector: "核查人员", models.RoleUnitLead: "单位负责人",
	models.SupervisionDaily: "日常督办", models.SupervisionSpecial: "专项督办", models.SupervisionKey: "重点督办",
	"city": "市", "county": "县（区）", "department": "部门", "town": "乡镇", "company": "企业",
	// timeline
	"item": "问题立项", "submission": "申请验收", "task": "创建任务", "assignment": "分配任务", "verification": "现场核查",
	"evidence": "证据核验", "note": "备注", "decision": "验收决定", "round": "轮次",
	// flags
	evidence.FlagOutsideGeofence: "超出电子围栏", evidence.FlagExifGPSMismatch: "照片位置与设备定位不符",
	evidence.FlagNoExifGPS: "照片无GPS信息", evidence.FlagOutsideTaskWindow: "拍摄时间不在任务时段内",
	evidence.FlagBeforeAssignment: "拍摄于任务分配之前", evidence.FlagClockSkew: "照片时间与设备时间不符",
	evidence.FlagMockedLocation: "模拟定位", evidence.FlagDuplicatePhoto: "重复使用的照片", evidence.FlagNearDuplicatePhoto: "近似重复的照片",
}

func label(s string) string {
	if l, ok := labels[s]; ok {
		return l
	}
	return s
}

// flagText is a flag's name with its measured value.
func flagText(f models.Flag) string {
	switch f.Unit {
	case "m":
		return label(f.Code) + " " + metres(f.Value)
	case "s":
		return label(f.Code) + " " + duration(f.Value)
	case "h":
		return label(f.Code) + " " + duration(f.Value*3600)
	case "":
		return label(f.Code)
	}
	return label(f.Code) + " " + trimFloat(f.Value, 1) + " " + f.Unit
}

// duration writes seconds for people: a skew of years reads as days, not
// as nine digits of seconds.
func duration(s float64) string {
	switch {
	case s >= 2*86400:
		return trimFloat(s/86400, 1) + " 天"
	case s >= 2*3600:
		return trimFloat(s/3600, 1) + " 小时"
	case s >= 120:
		return trimFloat(s/60, 0) + " 分钟"
	}
	return trimFloat(s, 0) + " 秒"
}

// answerText shows an answer as the inspector gave it.
func answerText(a answerView) string {
	v := strings.TrimSpace(string(a.Value))
	switch {
	case a.Type == models.QuestionYesNo && v == "true":
		return "是"
	case a.Type == models.QuestionYesNo && v == "false":
		return "否"
	case a.Type == models.QuestionNumber && a.Unit != "":
		return v + " " + a.Unit
	}
	var s string
	if json.Unmarshal(a.Value, &s) == nil {
		return s
	}
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }

func formatFloat(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
