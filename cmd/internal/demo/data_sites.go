package demo

// siteSpec is one site. Its geofence is a circle of radius metres around
// lat/lng, or, when ring is set, a GeoJSON polygon (positions [lng, lat],
// counter-clockwise; closeRing repeats the first position) that contains
// lat/lng.
type siteSpec struct {
	key, unit, name, kind, address string
	lat, lng, radius               float64
	ring                           [][2]float64
}

// sites lie around the fictional 江城市: the urban districts on the south
// bank of the Yangtze near 29.70°N 116.00°E, 湖滨县 to the east where
// Poyang Lake meets the river, 山南县 in the hills to the south-west.
var sites = []siteSpec{
	// 入河排污口 and water bodies.
	{key: "S01", unit: "JC-JB", name: "城西港区2号闸雨污合流排口", kind: "sewage_outfall",
		address: "江北区滨江西路城西港区2号闸", lat: 29.7312, lng: 115.9421, radius: 80},
	{key: "S02", unit: "JC-JB", name: "白水湖泵站溢流排口", kind: "sewage_outfall",
		address: "江北区白水湖路与长江大道交叉口东侧", lat: 29.7205, lng: 116.0133, radius: 60},
	{key: "S03", unit: "JC-HB", name: "湖滨工业园区污水处理厂入江排口", kind: "sewage_outfall",
		address: "湖滨县渚溪镇沿江路88号东侧江堤", lat: 29.7402, lng: 116.2215, radius: 100},
	{key: "S04", unit: "JC-JB", name: "柳湾河（人民路至滨江路段）", kind: "river_section",
		address: "江北区人民路柳湾桥至滨江路河口", lat: 29.7088, lng: 115.9876, radius: 300},
	{key: "S05", unit: "JC-JB", name: "白塔港（长虹大道段）", kind: "river_section",
		address: "江北区长虹大道白塔港桥上下游各200米", lat: 29.6957, lng: 116.0290, radius: 250},
	{key: "S06", unit: "JC-SW", name: "江城市第二污水处理厂", kind: "factory",
		address: "江城市经济开发区港城大道1号", lat: 29.6812, lng: 116.0456, radius: 200},
	{key: "S07", unit: "JC-HB-HGY", name: "湖滨工业园区污水集中处理厂", kind: "factory",
		address: "湖滨县渚溪镇沿江路88号", lat: 29.7366, lng: 116.2301, radius: 150},
	{key: "S08", unit: "JC-SN-SM", name: "石门镇污水处理站", kind: "other",
		address: "山南县石门镇河西村石门河左岸", lat: 29.5120, lng: 115.8310, radius: 80},
	{key: "S09", unit: "JC-JB", name: "城北砂石码头", kind: "other",
		address: "江北区滨江北路长江岸线K12+300", lat: 29.7398, lng: 115.9702, radius: 200},
	{key: "S10", unit: "JC-SN", name: "山南县富康生猪养殖场", kind: "farm",
		address: "山南县石门镇枫树村五组", lat: 29.4933, lng: 115.8842, radius: 250},

	// 扬尘 and VOCs.
	{key: "S11", unit: "JC-JB", name: "滨江新城商住项目工地", kind: "construction_site",
		address: "江北区滨江东路与新港路交叉口西北角", lat: 29.7151, lng: 116.0602, radius: 150},
	{key: "S12", unit: "JC-JB", name: "江城东站综合交通枢纽工地", kind: "construction_site",
		address: "江北区长虹东大道江城东站北广场", lat: 29.6734, lng: 116.0811, radius: 250},
	{key: "S13", unit: "JC-HB-HGY", name: "湖滨化工园区", kind: "factory",
		address: "湖滨县渚溪镇化工园区（园区边界）", lat: 29.7450, lng: 116.2420,
		ring: [][2]float64{
			{116.2390, 29.7432}, {116.2445, 29.7428}, {116.2458, 29.7452},
			{116.2440, 29.7471}, {116.2398, 29.7468}, {116.2385, 29.7450},
		}},
	{key: "S14", unit: "JC-HB-SH", name: "江城石化有限公司储罐区及污水处理场", kind: "factory",
		address: "湖滨化工园区石化路1号", lat: 29.7458, lng: 116.2432, radius: 150},
	{key: "S15", unit: "JC-CG", name: "城南渣土消纳场", kind: "waste_yard",
		address: "江城市城南大道南延线2公里处", lat: 29.6521, lng: 115.9912, radius: 200},
	{key: "S16", unit: "JC-JB", name: "江北区汽修喷涂集中区", kind: "factory",
		address: "江北区十里铺路汽配城B区", lat: 29.7044, lng: 115.9598, radius: 120},

	// 固废 and soil.
	{key: "S17", unit: "JC-STHJ", name: "江城市危险废物集中处置中心", kind: "waste_yard",
		address: "江城市经济开发区环保产业园9号", lat: 29.6650, lng: 116.1203, radius: 200},
	{key: "S18", unit: "JC-HB-HGY", name: "湖滨化工园区危废暂存库", kind: "waste_yard",
		address: "湖滨化工园区纬二路6号", lat: 29.7445, lng: 116.2410, radius: 60},
	{key: "S19", unit: "JC-HB-ZX", name: "湖滨县磷石膏堆场", kind: "waste_yard",
		address: "湖滨县渚溪镇黄泥岭村", lat: 29.7288, lng: 116.2610, radius: 250},
	{key: "S20", unit: "JC-JB-BJ", name: "长江江北段废弃码头岸线", kind: "river_section",
		address: "江北区滨江街道老渡口至轮渡站岸线", lat: 29.7420, lng: 115.9200, radius: 150},
	{key: "S21", unit: "JC-CG", name: "城东生活垃圾填埋场", kind: "waste_yard",
		address: "江城市城东区莲花镇垃圾场路", lat: 29.6380, lng: 116.0720, radius: 300},
	{key: "S22", unit: "JC-JB", name: "原江城化工厂腾退地块", kind: "factory",
		address: "江北区滨江东路216号（原江城化工厂）", lat: 29.7335, lng: 116.0088, radius: 200},

	// 生态保护.
	{key: "S23", unit: "JC-SN-SL", name: "石门河一级水电站", kind: "hydropower_station",
		address: "山南县石门镇石门河上游峡口", lat: 29.4712, lng: 115.7905, radius: 100},
	{key: "S24", unit: "JC-SN-SL", name: "龙潭水电站", kind: "hydropower_station",
		address: "山南县石门镇龙潭村", lat: 29.4451, lng: 115.8433, radius: 100},
	{key: "S25", unit: "JC-HB-ZX", name: "鄱阳湖（湖滨段）湖泊保护区违建点位", kind: "lake_area",
		address: "湖滨县渚溪镇湖岸村湖滨湿地", lat: 29.7000, lng: 116.2500,
		ring: [][2]float64{
			{116.2470, 29.6975}, {116.2515, 29.6968}, {116.2541, 29.6992},
			{116.2533, 29.7020}, {116.2498, 29.7030}, {116.2468, 29.7013},
			{116.2460, 29.6994},
		}},
	{key: "S26", unit: "JC-HB-ZX", name: "南湾湖区非法围垸", kind: "lake_area",
		address: "湖滨县渚溪镇南湾村湖汊", lat: 29.6620, lng: 116.2880,
		ring: [][2]float64{
			{116.2850, 29.6600}, {116.2905, 29.6596}, {116.2912, 29.6641}, {116.2858, 29.6646},
		}},
	{key: "S27", unit: "JC-SN-SM", name: "石门镇废弃采石场", kind: "other",
		address: "山南县石门镇石岭村后山", lat: 29.5355, lng: 115.9240, radius: 300},
	{key: "S28", unit: "JC-HB", name: "长江湖口江段禁捕水域", kind: "river_section",
		address: "湖滨县长江与鄱阳湖交汇处江段", lat: 29.7478, lng: 116.2105, radius: 500},
}
