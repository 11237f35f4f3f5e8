package demo

import "github.com/fieldsync/fieldsync/models"

// itemSpec is one rectification item. unit and coop are unit codes; days
// is the deadline in days from the load's clock: the city is
// CampaignDays into its campaign, so a negative one is already overdue.
// cadence makes an item open-ended (长期坚持), reviewed at that cadence,
// with no deadline.
type itemSpec struct {
	code, title, source, category, area string
	description, target, measures       string
	unit                                string
	coop                                []string
	first, specific                     string
	days                                int
	cadence                             string
	level                               string
	key                                 bool
}

// Sources of the items. The code prefixes follow them: ZY2, ZY1, SJ, JSP.
const (
	srcCentral2 = "第二轮中央生态环境保护督察反馈"
	srcCentral1 = "第一轮中央生态环境保护督察及“回头看”反馈"
	srcProvince = "省级生态环境保护督察反馈"
	srcFilm     = "长江经济带生态环境警示片披露问题"
)

// Areas of the items. The code middles follow them: SHJ, DQ, GF, ST.
const (
	areaWater = "水环境"
	areaAir   = "大气环境"
	areaWaste = "固废与土壤"
	areaEco   = "生态保护"
)

// Review cadence of the open-ended items, short.
const cadenceQuarterly = models.CadenceQuarterly

// Supervision levels, short.
const (
	lvlDaily   = models.SupervisionDaily
	lvlSpecial = models.SupervisionSpecial
	lvlKey     = models.SupervisionKey
)

// allItems lists the 22 items in load order.
func allItems() []itemSpec {
	return append(append([]itemSpec(nil), waterAirItems...), wasteEcoItems...)
}

var waterAirItems = []itemSpec{
	{
		code: "ZY2-SHJ-01", title: "长江干流入河排污口排查整治推进滞后",
		source: srcCentral2, category: "入河排污口排查整治", area: areaWater,
		description: "督察发现，江城市长江干流及主要支流岸线入河排污口底数不清，排查登记的312个排污口中仍有47个未完成溯源，城西港区2号闸、白水湖泵站等排口旱天仍有污水排出，抽测化学需氧量浓度最高达186mg/L。",
		target:      "全面完成长江干流岸线入河排污口溯源，分类实施取缔、合并、规范整治；旱天污水直排排口清零，排口设置规范标识并纳入监管平台。",
		measures:    "1. 逐一复核排查登记排口，2026年底前完成全部溯源；\n2. 对雨污混接排口实施截污纳管，对非法设置排口依法取缔；\n3. 规范保留排口标识牌和采样监测点，实行“一口一档”；\n4. 将排口纳入在线监控和定期巡查。",
		unit:        "JC-STHJ", coop: []string{"JC-SL", "JC-JB", "JC-HB", "JC-SW"},
		first: "江城市人民政府副市长 张某", specific: "江城市生态环境局局长 赵某",
		days: 540, level: lvlKey, key: true,
	},
	{
		code: "ZY2-SHJ-02", title: "城区柳湾河、白塔港黑臭水体治理后返黑返臭",
		source: srcCentral2, category: "黑臭水体", area: areaWater,
		description: "督察组现场检查发现，江北区柳湾河人民路至滨江路段、白塔港长虹大道段已于上一轮整治后“销号”，但沿线截污不彻底，雨后溢流污水直排，水体再次出现黑臭，群众反映强烈，属表面整改。",
		target:      "柳湾河、白塔港消除黑臭并实现“长制久清”，透明度、溶解氧、氨氮等指标稳定达到城市黑臭水体整治标准，群众满意度不低于90%。",
		measures:    "1. 完成沿线排口截污和雨污分流改造；\n2. 实施底泥清淤和生态补水；\n3. 建立河长巡河和水质月度监测制度；\n4. 开展公众满意度调查。",
		unit:        "JC-JB", coop: []string{"JC-ZJ", "JC-CG", "JC-SW"},
		first: "江北区区长 王某", specific: "江北区分管副区长 孙某",
		days: 300, level: lvlSpecial, key: false,
	},
	{
		code: "ZY2-SHJ-03", title: "城镇污水管网雨污混接严重，污水处理厂进水浓度偏低",
		source: srcCentral2, category: "城镇污水管网", area: areaWater,
		description: "江城市中心城区污水收集率不足60%，第二污水处理厂进水生化需氧量年均浓度仅为58mg/L，大量河水、地下水进入管网，老城区雨污混接点多达1300余处，污水处理提质增效工作推进缓慢。",
		target:      "中心城区生活污水集中收集率提高到70%以上，城市污水处理厂进水生化需氧量浓度达到100mg/L以上，完成老城区雨污混接点改造。",
		measures:    "1. 开展管网清淤检测，建立管网地理信息系统；\n2. 分年度实施雨污混接点改造和破损管网修复；\n3. 新建城东片区污水主干管；\n4. 实行污水处理厂进水浓度月通报。",
		unit:        "JC-ZJ", coop: []string{"JC-SW", "JC-JB"},
		first: "江城市人民政府副市长 李某", specific: "江城市住房和城乡建设局局长 钱某",
		days: 700, level: lvlKey, key: true,
	},
	{
		code: "ZY1-SHJ-01", title: "湖滨工业园区污水集中处理设施超负荷运行",
		source: srcCentral1, category: "工业园区污水治理", area: areaWater,
		description: "“回头看”发现，湖滨工业园区污水集中处理厂设计规模1万吨/日，实际进水量长期超过1.3万吨/日，部分企业预处理不达标，园区污水处理厂出水总磷、化学需氧量多次超标。",
		target:      "园区污水处理厂扩容至2万吨/日并稳定达标排放，入园企业实现“一企一管”、明管输送和在线监控。",
		measures:    "1. 实施污水处理厂扩建工程；\n2. 完成入园企业“一企一管”改造；\n3. 对预处理不达标企业限期整改，逾期依法处罚；\n4. 出水安装在线监测并联网。",
		unit:        "JC-HB", coop: []string{"JC-STHJ", "JC-GX", "JC-HB-HGY"},
		first: "湖滨县县长 吴某", specific: "湖滨化工园区管委会主任 郑某",
		days: 90, level: lvlSpecial, key: false,
	},
	{
		code: "SJ-SHJ-01", title: "乡镇污水处理设施建成后闲置，管网不配套",
		source: srcProvince, category: "农村生活污水治理", area: areaWater,
		description: "省督察组发现，山南县石门镇等3个乡镇污水处理站建成后因配套管网缺失长期“晒太阳”，石门镇污水处理站日处理量不足设计规模的20%，镇区生活污水直排石门河。",
		target:      "完成乡镇污水处理站配套管网建设，设施正常运行负荷率达到60%以上，出水稳定达标。",
		measures:    "1. 编制乡镇配套管网建设方案；\n2. 完成石门镇等3个镇区管网建设；\n3. 委托第三方专业运维并纳入县级考核。",
		unit:        "JC-SN", coop: []string{"JC-ZJ", "JC-NY", "JC-SN-SM"},
		first: "山南县县长 冯某", specific: "山南县分管副县长 陈某",
		days: 240, level: lvlDaily, key: false,
	},
	{
		code: "JSP-SHJ-01", title: "长江岸线城北砂石码头冲洗废水直排长江",
		source: srcFilm, category: "长江岸线码头整治", area: areaWater,
		description: "长江经济带生态环境警示片披露，江北区城北砂石码头未建设冲洗废水收集处理设施，砂石冲洗废水经明沟直排长江，码头堆场无遮盖，岸线扬尘和水体浑浊问题突出。",
		target:      "码头完成冲洗废水收集回用和堆场全封闭改造，废水零直排；不符合岸线规划的码头泊位依法取缔并复绿。",
		measures:    "1. 建设沉淀池和废水回用设施；\n2. 堆场实施封闭或全覆盖；\n3. 对非法泊位依法拆除并实施岸线复绿；\n4. 纳入港口日常监管。",
		unit:        "JC-JB", coop: []string{"JC-JT", "JC-SL", "JC-ZR"},
		first: "江北区区长 王某", specific: "江北区分管副区长 孙某",
		days: 120, level: lvlKey, key: true,
	},
	{
		code: "SJ-SHJ-02", title: "规模以下畜禽养殖场粪污直排，资源化利用率低",
		source: srcProvince, category: "畜禽养殖污染治理", area: areaWater,
		description: "山南县、湖滨县部分规模以下生猪养殖场未配套粪污处理设施，粪污经排水沟直排周边沟渠，山南县某生猪养殖场周边水体氨氮超标3.2倍。",
		target:      "规模养殖场粪污处理设施装备配套率达到100%，畜禽粪污综合利用率达到80%以上。",
		measures:    "1. 开展畜禽养殖场排查建档；\n2. 配套建设干湿分离、厌氧发酵和贮存设施；\n3. 推行种养结合、就近还田；\n4. 对禁养区内养殖场依法关停。",
		unit:        "JC-NY", coop: []string{"JC-SN", "JC-HB", "JC-STHJ"},
		first: "江城市农业农村局局长 何某", specific: "江城市农业农村局副局长 罗某",
		days: 180, level: lvlDaily, key: false,
	},
	{
		code: "ZY2-DQ-01", title: "建筑工地扬尘管控“六个百分之百”落实不到位",
		source: srcCentral2, category: "扬尘治理", area: areaAir,
		description: "督察组随机抽查中心城区12个建筑工地，有7个存在裸土未覆盖、出入口车辆未冲洗、围挡不连续等问题，滨江新城商住项目工地大面积裸土长期未覆盖，扬尘在线监测数据失真。",
		target:      "在建工地全面落实“六个百分之百”，5000平方米以上工地安装扬尘在线监测和视频监控并联网，PM10浓度持续下降。",
		measures:    "1. 开展建筑工地扬尘专项检查，建立问题清单；\n2. 落实扬尘在线监测联网和异常数据核查；\n3. 将扬尘管控纳入企业信用评价；\n4. 对屡查屡犯的工地依法停工整改。",
		unit:        "JC-ZJ", coop: []string{"JC-CG", "JC-JB", "JC-JB-ZJ"},
		first: "江城市住房和城乡建设局局长 钱某", specific: "江城市住房和城乡建设局副局长 林某",
		days: 60, level: lvlSpecial, key: false,
	},
	{
		code: "ZY2-DQ-02", title: "臭氧污染形势严峻，挥发性有机物（VOCs）治理滞后",
		source: srcCentral2, category: "臭氧/VOCs治理", area: areaAir,
		description: "江城市臭氧浓度连续三年上升，已成为影响优良天数的首要污染物；石化、化工、涂装等重点行业VOCs治理以低效的单一活性炭吸附为主，泄漏检测与修复（LDAR）工作流于形式。",
		target:      "重点行业VOCs治理设施全面提标改造，臭氧浓度上升趋势得到遏制，优良天数比率达到省定目标。",
		measures:    "1. 编制臭氧污染防治攻坚方案；\n2. 完成重点企业VOCs“一企一策”提标改造；\n3. 规范开展LDAR并抽查复核；\n4. 夏秋季实施臭氧污染应急管控。",
		unit:        "JC-STHJ", coop: []string{"JC-GX", "JC-HB", "JC-HB-HGY"},
		first: "江城市人民政府副市长 张某", specific: "江城市生态环境局副局长 黄某",
		days: 480, level: lvlKey, key: true,
	},
	{
		code: "ZY1-DQ-01", title: "江城石化有限公司VOCs无组织排放问题突出",
		source: srcCentral1, category: "VOCs治理", area: areaAir,
		description: "第一轮督察交办、“回头看”仍未整改到位：江城石化有限公司污水处理场、储罐区未密闭收集，厂界非甲烷总烃浓度超标，周边群众多次投诉异味扰民。",
		target:      "污水处理场和储罐区废气全部密闭收集处理，厂界非甲烷总烃稳定达标，异味投诉明显下降。",
		measures:    "1. 污水处理场加盖密闭并建设废气处理设施；\n2. 储罐改造为内浮顶罐并安装油气回收；\n3. 厂界安装VOCs在线监测；\n4. 建立异味投诉快速响应机制。",
		unit:        "JC-HB", coop: []string{"JC-STHJ", "JC-HB-SH"},
		first: "湖滨县县长 吴某", specific: "湖滨县分管副县长 许某",
		days: 45, level: lvlKey, key: true,
	},
	{
		code: "SJ-DQ-01", title: "渣土运输车辆抛洒滴漏，渣土消纳场管理粗放",
		source: srcProvince, category: "扬尘治理", area: areaAir,
		description: "省督察组夜查发现，中心城区渣土运输车辆未密闭、带泥上路现象普遍，城南渣土消纳场未硬化、未设置冲洗设施，道路积尘严重。",
		target:      "渣土运输车辆全部实现密闭化运输和卫星定位监管，消纳场出入口硬化并设置冲洗设施。",
		measures:    "1. 开展渣土运输专项整治；\n2. 推行渣土运输车辆准运证和电子联单；\n3. 完成城南渣土消纳场规范化改造；\n4. 建立部门联合夜查机制。",
		unit:        "JC-CG", coop: []string{"JC-ZJ", "JC-JT"},
		first: "江城市城市管理局局长 高某", specific: "江城市城市管理局副局长 马某",
		days: 150, level: lvlDaily, key: false,
	},
	{
		code: "SJ-DQ-02", title: "汽修、家具喷涂行业VOCs简易治理设施普遍失效",
		source: srcProvince, category: "VOCs治理", area: areaAir,
		description: "江北区汽修喷涂集中区20余家汽修企业喷漆作业未在密闭喷烤漆房内进行，活性炭长期未更换，部分企业露天喷涂。",
		target:      "汽修、家具喷涂企业全部进入密闭喷烤漆房作业，废气治理设施规范运行，活性炭按时更换并建立台账。",
		measures:    "1. 建立涉VOCs小微企业清单；\n2. 推进建设集中喷涂中心；\n3. 落实活性炭更换台账和危废规范处置；\n4. 对露天喷涂依法查处。",
		unit:        "JC-JB", coop: []string{"JC-STHJ", "JC-JB-STHJ"},
		first: "江北区区长 王某", specific: "江城市生态环境局江北分局局长 谢某",
		days: 100, level: lvlDaily, key: false,
	},
}
