package demo

import "github.com/fieldsync/fieldsync/models"

// taskSpec is one inspection task: an item code, a site key, a template
// key and an inspector's username. The window opens start days from the
// load's clock (-2..10) and closes days later.
type taskSpec struct {
	item, site, kind, template, assignee string
	start, days                          int
	instructions                         string
}

const (
	progress   = models.TaskProgressCheck
	acceptance = models.TaskAcceptanceCheck
)

// tasks are the visits planned from the load's clock on, spread over the
// three inspectors (the campaign so far, history.go, made others). The
// three acceptance checks are on first-round items whose deadlines are
// close: a pre-acceptance visit (验收前现场核查) to compare the site with
// the rectification target before the unit applies for sign-off.
var tasks = []taskSpec{
	// 水环境
	{"ZY2-SHJ-01", "S01", progress, tplSite, "inspector2", -2, 5,
		"旱天核查城西港区2号闸排口是否仍有污水排出，现场快检COD、氨氮，核对溯源报告与现场管线走向是否一致。"},
	{"ZY2-SHJ-01", "S02", progress, tplSite, "inspector2", 1, 5,
		"核查白水湖泵站溢流排口截污改造进度，检查标识牌是否规范设置，拍摄排口及周边照片。"},
	{"ZY2-SHJ-01", "S03", progress, tplSite, "inspector3", 0, 5,
		"核查湖滨工业园区入江排口“一口一档”资料，现场取样快检，确认排口在线监测设备是否正常运行。"},
	{"ZY2-SHJ-02", "S04", progress, tplSite, "inspector2", -1, 4,
		"沿柳湾河人民路至滨江路段全线步行巡查，记录沿线排口、水体颜色和气味，雨后24小时内复查溢流情况。"},
	{"ZY2-SHJ-02", "S05", progress, tplSite, "inspector2", 3, 5,
		"检查白塔港长虹大道段清淤和截污工程进度，现场快检透明度和氨氮，走访沿线居民了解感受。"},
	{"ZY2-SHJ-03", "S02", progress, tplSite, "inspector1", 2, 5,
		"核查白水湖泵站旱天运行水位及进水浓度，核对雨污混接点改造清单中本片区点位完成情况。"},
	{"ZY2-SHJ-03", "S06", progress, tplSite, "inspector1", -2, 6,
		"调取第二污水处理厂近三个月进水BOD、COD浓度记录，现场核对在线监测数据，记录进水浓度变化情况。"},
	{"SJ-SHJ-01", "S08", progress, tplSite, "inspector1", 4, 6,
		"核查石门镇污水处理站运行负荷和配套管网建设进度，检查运行台账和出水水质，确认是否仍有生活污水直排石门河。"},
	{"SJ-SHJ-02", "S10", progress, tplSite, "inspector1", 5, 5,
		"检查养殖场干湿分离、贮存设施是否建成运行，核查粪污还田台账，快检周边沟渠氨氮。"},

	// 大气环境
	{"ZY2-DQ-01", "S11", progress, tplDust, "inspector2", -2, 3,
		"对照“六个百分之百”逐项检查，重点核查裸土覆盖和出入口冲洗，读取扬尘在线监测数据并拍摄监测屏。"},
	{"ZY2-DQ-01", "S12", progress, tplDust, "inspector1", 1, 3,
		"检查枢纽工地土方作业期间的扬尘管控措施，核实在线监测与视频监控是否联网。"},
	{"ZY2-DQ-02", "S13", progress, tplSite, "inspector3", 2, 5,
		"沿化工园区边界巡查异味情况，抽查三家企业VOCs治理设施运行记录和活性炭更换台账，核实LDAR检测报告。"},
	{"ZY2-DQ-02", "S14", progress, tplSite, "inspector1", 7, 5,
		"核查江城石化“一企一策”提标改造项目进度，检查厂界VOCs在线监测数据。"},
	{"ZY1-DQ-01", "S14", progress, tplSite, "inspector3", -1, 4,
		"检查污水处理场加盖密闭和废气收集处理设施运行情况，核查储罐内浮顶改造进度，记录厂界异味情况。"},
	{"ZY1-DQ-01", "S14", acceptance, tplAcceptance, "inspector3", 9, 5,
		"验收前现场核查：核对厂界非甲烷总烃在线数据是否稳定达标，整改措施是否逐项完成，近三个月异味投诉情况。"},
	{"SJ-DQ-01", "S15", progress, tplDust, "inspector1", 3, 4,
		"检查消纳场出入口硬化和冲洗设施，夜间抽查进出渣土车密闭情况，记录车牌号。"},
	{"SJ-DQ-01", "S12", progress, tplDust, "inspector2", 8, 4,
		"检查枢纽工地渣土外运车辆是否持准运证、是否密闭，出入口道路是否有带泥上路。"},
	{"SJ-DQ-02", "S16", progress, tplSite, "inspector2", 2, 5,
		"逐家检查汽修企业喷烤漆房使用情况和活性炭更换台账，发现露天喷涂的拍照取证。"},

	// 固废与土壤
	{"ZY2-GF-01", "S17", progress, tplHazWaste, "inspector1", -1, 5,
		"核查处置中心贮存库库存与台账、转移联单是否一致，检查二期工程建设进度。"},
	{"ZY2-GF-01", "S18", progress, tplHazWaste, "inspector3", 1, 5,
		"逐桶核对危废暂存库贮存量与台账，检查防渗、标识和视频监控，重点查看是否存在超期贮存。"},
	{"ZY2-GF-02", "S19", progress, tplSite, "inspector3", 4, 6,
		"检查堆场防渗改造和渗滤液收集池扩建进度，查看雨后周边沟渠是否有渗滤液外溢，快检沟渠总磷。"},
	{"JSP-GF-01", "S20", progress, tplSite, "inspector2", -2, 4,
		"核查倾倒固废清运进度，核对清运量与处置单位接收记录，拍摄岸线现状与警示片画面同一角度对比照。"},
	{"JSP-GF-01", "S09", progress, tplSite, "inspector2", 6, 4,
		"排查码头周边是否有新的倾倒点，检查视频监控是否安装到位。"},
	{"ZY1-GF-01", "S21", progress, tplSite, "inspector1", 0, 5,
		"核查积存渗滤液处理进度，读取应急处理设备运行记录，检查渗滤液处理站出水水质。"},
	{"ZY1-GF-01", "S21", acceptance, tplAcceptance, "inspector1", 10, 5,
		"验收前现场核查：确认积存渗滤液已清零、出水连续达标，封场工程是否按设计完成。"},
	{"ZY2-GF-03", "S22", progress, tplSite, "inspector1", 2, 6,
		"核查腾退地块残留废渣清理情况和土壤污染状况调查采样点位，确认地块内无开发建设活动。"},
	{"ZY2-GF-03", "S13", progress, tplSite, "inspector3", 5, 6,
		"核查园区内未完成关改搬转的企业现状，确认已关停企业生产设备是否拆除，拍摄厂区全景。"},

	// 生态保护
	{"ZY2-ST-01", "S23", progress, tplSite, "inspector1", -2, 7,
		"检查生态流量泄放设施和在线监测装置是否建成并联网，实测下游泄放流量，拍摄坝下河道是否脱流。"},
	{"ZY2-ST-01", "S24", progress, tplSite, "inspector1", 3, 7,
		"核查龙潭电站生态流量核定值与实际泄放情况，沿下游3公里河段巡查是否断流。"},
	{"ZY1-ST-01", "S25", progress, tplSite, "inspector3", 0, 5,
		"在湖泊保护区范围内逐一核查观景平台、农家乐等违建拆除情况，核对拆除清单，拍摄拆除后现场。"},
	{"ZY1-ST-01", "S25", progress, tplSite, "inspector2", 9, 4,
		"复核拆除后湿地植被恢复情况，检查湖泊保护区界桩和标识设置，确认无新增违建。"},
	{"JSP-ST-01", "S26", progress, tplSite, "inspector3", -1, 5,
		"核查南湾湖区围垸堤坝拆除和围网清除进度，测量已恢复水域范围，拍摄湖汊连通情况。"},
	{"JSP-ST-01", "S25", progress, tplSite, "inspector3", 6, 5,
		"巡查湖滨段湖区是否存在新增围网或反弹，走访渔民了解安置情况。"},
	{"SJ-ST-01", "S27", progress, tplSite, "inspector1", 4, 6,
		"检查采石场边坡治理和挡墙、截排水工程完成情况，查看复绿植被成活情况。"},
	{"SJ-ST-01", "S27", acceptance, tplAcceptance, "inspector2", 10, 5,
		"验收前现场核查：对照修复方案核对边坡治理和复绿面积，确认地质灾害隐患已消除。"},
	{"SJ-ST-02", "S28", progress, tplSite, "inspector3", 2, 4,
		"随同联合执法巡查湖口江段，检查视频监控和雷达系统运行情况，记录发现的非法网具和“三无”船舶。"},
	{"SJ-ST-02", "S20", progress, tplSite, "inspector2", 5, 4,
		"巡查江北段岸线是否有电鱼、地笼网等非法捕捞行为，检查禁捕公告牌设置情况。"},
}
