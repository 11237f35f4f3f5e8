package demo

import "github.com/fieldsync/fieldsync/models"

// unitSpec is one unit; parent is the code of a unit listed before it.
type unitSpec struct{ code, parent, name, kind string }

// units is the unit tree of 江城市: the city government, three
// counties/districts, the city departments and the city water company
// under it, and under each county its own departments, towns and
// companies, so that a supervisor or unit lead of a county sees only that
// county's records.
var units = []unitSpec{
	{"JC", "", "江城市人民政府", "city"},

	{"JC-JB", "JC", "江城市江北区人民政府", "county"},
	{"JC-HB", "JC", "湖滨县人民政府", "county"},
	{"JC-SN", "JC", "山南县人民政府", "county"},

	{"JC-STHJ", "JC", "江城市生态环境局", "department"},
	{"JC-ZJ", "JC", "江城市住房和城乡建设局", "department"},
	{"JC-SL", "JC", "江城市水利局", "department"},
	{"JC-NY", "JC", "江城市农业农村局", "department"},
	{"JC-GX", "JC", "江城市工业和信息化局", "department"},
	{"JC-CG", "JC", "江城市城市管理局", "department"},
	{"JC-ZR", "JC", "江城市自然资源局", "department"},
	{"JC-JT", "JC", "江城市交通运输局", "department"},
	{"JC-SW", "JC", "江城市城市水务集团有限公司", "company"},

	{"JC-JB-STHJ", "JC-JB", "江城市生态环境局江北分局", "department"},
	{"JC-JB-ZJ", "JC-JB", "江北区住房和城乡建设局", "department"},
	{"JC-JB-BJ", "JC-JB", "江北区滨江街道办事处", "town"},

	{"JC-HB-STHJ", "JC-HB", "江城市生态环境局湖滨分局", "department"},
	{"JC-HB-HGY", "JC-HB", "湖滨化工园区管理委员会", "department"},
	{"JC-HB-ZX", "JC-HB", "湖滨县渚溪镇人民政府", "town"},
	{"JC-HB-SH", "JC-HB-HGY", "江城石化有限公司", "company"},

	{"JC-SN-STHJ", "JC-SN", "江城市生态环境局山南分局", "department"},
	{"JC-SN-SL", "JC-SN", "山南县水利局", "department"},
	{"JC-SN-SM", "JC-SN", "山南县石门镇人民政府", "town"},
}

// userSpec is one demo account.
type userSpec struct{ username, displayName, phone, role, unit string }

// users are exactly the demo accounts the architecture fixes; no other
// account with a known password is made. The supervisor sits at the city
// root so that it sees every demo item; the inspectors are spread over the
// city bureau and two county branches (inspectors see their own tasks
// wherever their unit is).
var users = []userSpec{
	{"admin", "系统管理员", "13800000001", models.RoleAdmin, "JC"},
	{"supervisor", "督察专员 周明", "13800000002", models.RoleSupervisor, "JC"},
	{"inspector1", "核查员 李强（市生态环境综合执法支队）", "13800000003", models.RoleInspector, "JC-STHJ"},
	{"inspector2", "核查员 陈静（江北分局）", "13800000004", models.RoleInspector, "JC-JB-STHJ"},
	{"inspector3", "核查员 刘洋（湖滨分局）", "13800000005", models.RoleInspector, "JC-HB-STHJ"},
}

// templateSpec is one checklist template.
type templateSpec struct {
	key, name string
	questions []models.Question
}

// Template keys used by the tasks.
const (
	tplSite       = "site"       // 整改现场核查表 (general, outfalls and water bodies)
	tplDust       = "dust"       // 扬尘管控检查表
	tplHazWaste   = "hazwaste"   // 危废贮存检查表
	tplAcceptance = "acceptance" // 验收核查表
)

func yesNo(id, text string) models.Question {
	return models.Question{ID: id, Text: text, Type: models.QuestionYesNo, Required: true}
}

func number(id, text, unit string, required bool) models.Question {
	return models.Question{ID: id, Text: text, Type: models.QuestionNumber, Unit: unit, Required: required}
}

func note(id, text string, required bool) models.Question {
	return models.Question{ID: id, Text: text, Type: models.QuestionText, Required: required}
}

func photo(id, text string) models.Question {
	return models.Question{ID: id, Text: text, Type: models.QuestionPhoto, Required: true, PhotoRequired: true}
}

var templates = []templateSpec{
	{tplSite, "整改现场核查表（入河排污口及水体）", []models.Question{
		yesNo("q1", "整改措施是否按整改方案和时间节点推进"),
		yesNo("q2", "现场是否仍存在督察反馈指出的问题（如旱天排水、黑臭、违建未拆）"),
		yesNo("q3", "排污口是否已设置规范标识牌并完成溯源登记"),
		number("q4", "现场快检化学需氧量（COD，无排口或水体填0）", "mg/L", false),
		number("q5", "现场快检氨氮（NH3-N，无排口或水体填0）", "mg/L", false),
		number("q6", "本次核查涉及的清淤、清运或拆除工程量", "m³", false),
		note("q7", "整改进展、存在问题及核查意见", true),
		photo("q8", "排口、水体或整治点位现场照片（全景及近景）"),
	}},
	{tplDust, "扬尘管控检查表（建筑工地及渣土消纳场）", []models.Question{
		yesNo("q1", "施工现场围挡是否连续、封闭"),
		yesNo("q2", "裸露土方及物料堆场是否100%覆盖"),
		yesNo("q3", "出入口车辆是否100%冲洗、路面是否硬化"),
		number("q4", "扬尘在线监测PM10读数", "μg/m³", true),
		number("q5", "未覆盖裸土面积", "m²", false),
		note("q6", "发现的问题及整改要求", false),
		photo("q7", "出入口、围挡及覆盖情况现场照片"),
	}},
	{tplHazWaste, "危废贮存检查表", []models.Question{
		yesNo("q1", "贮存设施是否防渗漏、防雨淋、防流失"),
		yesNo("q2", "危险废物识别标志和标签是否规范"),
		number("q3", "现场贮存量", "t", true),
		number("q4", "管理台账记载贮存量", "t", true),
		yesNo("q5", "转移联单是否齐全、与台账一致"),
		note("q6", "超期贮存、混存或去向不明情况说明", false),
		photo("q7", "贮存库内部及标识现场照片"),
	}},
	{tplAcceptance, "验收核查表（验收销号现场核查）", []models.Question{
		yesNo("q1", "整改目标是否全部完成"),
		yesNo("q2", "整改措施是否逐项落实到位"),
		yesNo("q3", "佐证材料是否齐全、与现场一致"),
		yesNo("q4", "是否存在表面整改、虚假整改或敷衍整改"),
		note("q5", "现场核查结论及验收意见", true),
		photo("q6", "验收现场照片（与整改前同一角度）"),
	}},
}
