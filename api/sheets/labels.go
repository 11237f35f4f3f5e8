// Package sheets writes and reads fieldsync's spreadsheets: the ledger
// (台账) as XLSX and CSV, the import of items from the same columns, and
// the dispatch report (调度) as XLSX. The cells are what people in the
// field keep in their own 台账: Chinese headings and labels, dates in the
// local zone. It is the only place the spreadsheet formats live; models
// computes the rows.
package sheets

import (
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// labels are the Chinese words a ledger shows for the enumerations.
var labels = map[string]string{
	models.ItemNotStarted:        "未启动",
	models.ItemInProgress:        "整改中",
	models.ItemPendingAcceptance: "待验收",
	models.ItemAccepted:          "已验收销号",
	models.ItemRejected:          "验收未通过",
	models.ItemReopened:          "已重新打开",

	models.SupervisionDaily:   "日常督办",
	models.SupervisionSpecial: "专项督办",
	models.SupervisionKey:     "重点督办",

	models.ConclusionRectified:          "已整改",
	models.ConclusionPartiallyRectified: "部分整改",
	models.ConclusionNotRectified:       "未整改",
	models.ConclusionSuspectedFake:      "疑似假整改",

	models.DecisionAccept: "验收通过",
	models.DecisionReject: "验收不通过",
	models.DecisionReopen: "重新打开",

	models.CadenceMonthly:    "每月",
	models.CadenceQuarterly:  "每季度",
	models.CadenceSemiannual: "每半年",
	models.CadenceAnnual:     "每年",

	models.ExtensionPending:  "待审批",
	models.ExtensionApproved: "已批准",
	models.ExtensionRefused:  "未批准",

	reporting.NoteKindNote:         "进展记录",
	reporting.NoteKindVerification: "现场核查",
}

// label is the Chinese word for an enumerated value; a value without one
// is shown as it is.
func label(v string) string {
	if l, ok := labels[v]; ok {
		return l
	}
	return v
}

// levelAliases are the spellings of supervision levels an import accepts
// besides the labels and the API's values.
var levelAliases = map[string]string{
	"日常": models.SupervisionDaily,
	"专项": models.SupervisionSpecial,
	"重点": models.SupervisionKey,
}

// level reads a supervision level cell. Anything unknown is passed on as
// it is, for the item rules to refuse with their own code.
func level(v string) string {
	for _, l := range models.SupervisionLevels {
		if v == l || v == labels[l] {
			return l
		}
	}
	if l, ok := levelAliases[v]; ok {
		return l
	}
	return v
}

// cadenceAliases are the spellings of review cadences an import accepts
// besides the labels and the API's values.
var cadenceAliases = map[string]string{
	"月": models.CadenceMonthly, "按月": models.CadenceMonthly, "季度": models.CadenceQuarterly, "按季度": models.CadenceQuarterly,
	"半年": models.CadenceSemiannual, "年": models.CadenceAnnual, "年度": models.CadenceAnnual, "每年度": models.CadenceAnnual,
}

// cadence reads a review cadence cell; anything unknown is passed on for
// the item rules to refuse.
func cadence(v string) string {
	for _, c := range models.ReviewCadences {
		if v == c || v == labels[c] {
			return c
		}
	}
	if c, ok := cadenceAliases[v]; ok {
		return c
	}
	return v
}

// yesNo are the spellings of a yes/no cell.
var yesNo = map[string]bool{
	"是": true, "否": false, "yes": true, "no": false, "true": true, "false": false,
	"Y": true, "N": false, "y": true, "n": false, "1": true, "0": false, "√": true, "×": false,
}

const (
	yes = "是"
	no  = "否"
)
