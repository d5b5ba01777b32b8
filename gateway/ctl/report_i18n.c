/*
 * report_i18n.c - the inspection report's words, one table per language
 * (agency staff read Chinese; the default follows the locale). Parameter
 * names and units stay as DESIGN §3 spells them in both.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *const en[S_COUNT] = {
	[S_TITLE_ALERT] = "Inspection report: alert",
	[S_TITLE_DAY] = "Inspection report: daily sheet",
	[S_TITLE_RANGE] = "Inspection report: time range",
	[S_OUTLET] = "Outlet", [S_GATEWAY] = "Gateway", [S_SPAN] = "Period shown",
	[S_TIMES_IN] = "All times are local time in",
	[S_PERMIT] = "Discharge permit", [S_PERMIT_NO] = "Permit number",
	[S_HOLDER] = "Holder", [S_VALIDITY] = "Valid",
	[S_DAILY_VOLUME_CAP] = "Daily volume cap",
	[S_NO_PERMIT] = "This outlet has no permit in the configuration.",
	[S_LIMITS] = "Limits", [S_PARAMETER] = "Parameter", [S_BASIS] = "Basis",
	[S_MIN] = "Min", [S_MAX] = "Max", [S_WINDOW] = "window",
	[S_ALERT] = "Alert", [S_KIND] = "Kind", [S_RAISED] = "Raised", [S_PEAK] = "Peak",
	[S_CLEARED] = "Cleared", [S_STILL_OPEN] = "still open",
	[S_DURATION] = "Duration", [S_RATIO] = "Ratio value/limit", [S_VALUE] = "Value",
	[S_LIMIT] = "Limit", [S_REASON] = "Reason", [S_SENSOR] = "Sensor",
	[S_PLOTS] = "Readings against the limits", [S_READINGS] = "Readings",
	[S_NO_READINGS] = "No readings in the history for this period.",
	[S_TIME] = "Time", [S_QUALITY] = "Quality", [S_FLAGS] = "Flags",
	[S_TABLE_CAPPED] = "The table shows the first %zu of %zu readings; the CSV "
			   "(--csv) holds all of them.",
	[S_VOLUME] = "Volume", [S_VOLUME_FROM] = "from",
	[S_FLOW_VOLUME] = "Flow and volume",
	[S_BANDS] = "Shaded on the time axis",
	[S_GAP] = "gap (no reading for more than 3 poll intervals)",
	[S_UNHEALTHY] = "sensor unhealthy (quality not ok)",
	[S_MAINT] = "maintenance", [S_CALIB] = "calibration", [S_ALERT_BAND] = "alert open",
	[S_MEAN] = "mean", [S_DAY_SHEET] = "Daily sheet",
	[S_STATISTIC] = "Statistic", [S_RESULT] = "Result", [S_PASS] = "within",
	[S_FAIL] = "EXCEEDED", [S_NOT_JUDGED] = "no data",
	[S_EXCEEDANCES] = "Exceedances (alerts raised)", [S_NONE] = "none",
	[S_COVERAGE] = "Coverage", [S_FOOTER] = "Evidence",
	[S_DIGEST] = "SHA-256 of the readings",
	[S_DIGEST_DEF] = "SHA-256, in hex, of the bytes of the readings CSV exactly as "
			 "`outfallctl report --csv` writes it next to this file (same name, "
			 ".csv), header line included.",
	[S_VERSION] = "Software", [S_CLOCK] = "Clock", [S_MADE] = "Report made",
	[S_POINTS] = "points", [S_ALERTS_IN_SPAN] = "Alerts in this period",
	[S_INSTANT] = "instant", [S_ROLLING] = "rolling mean",
	[S_HOURLY] = "hourly mean", [S_DAILY] = "daily mean",
	[S_GOOD] = "good readings", [S_EXPECTED] = "expected",
};

static const char *const zh[S_COUNT] = {
	[S_TITLE_ALERT] = "现场检查报告：报警", [S_TITLE_DAY] = "现场检查报告：日报表",
	[S_TITLE_RANGE] = "现场检查报告：时段", [S_OUTLET] = "排放口", [S_GATEWAY] = "网关",
	[S_SPAN] = "显示时段", [S_TIMES_IN] = "所有时间均为当地时间，时区",
	[S_PERMIT] = "排水许可证", [S_PERMIT_NO] = "许可证编号", [S_HOLDER] = "持证单位",
	[S_VALIDITY] = "有效期", [S_DAILY_VOLUME_CAP] = "日排水量上限",
	[S_NO_PERMIT] = "配置中此排放口没有许可证。", [S_LIMITS] = "限值",
	[S_PARAMETER] = "参数", [S_BASIS] = "判定依据", [S_MIN] = "下限", [S_MAX] = "上限",
	[S_WINDOW] = "窗口", [S_ALERT] = "报警", [S_KIND] = "类型", [S_RAISED] = "报警时间",
	[S_PEAK] = "峰值", [S_CLEARED] = "解除时间", [S_STILL_OPEN] = "尚未解除",
	[S_DURATION] = "持续时间", [S_RATIO] = "超标倍数（数值/限值）", [S_VALUE] = "数值",
	[S_LIMIT] = "限值", [S_REASON] = "原因", [S_SENSOR] = "传感器",
	[S_PLOTS] = "监测数据与限值", [S_READINGS] = "监测数据",
	[S_NO_READINGS] = "本时段历史库中没有监测数据。", [S_TIME] = "时间",
	[S_QUALITY] = "数据质量", [S_FLAGS] = "标记",
	[S_TABLE_CAPPED] = "表中仅列出 %2$zu 条数据中的前 %1$zu 条；CSV 文件（--csv）包含全部数据。",
	[S_VOLUME] = "排水量", [S_VOLUME_FROM] = "来源", [S_FLOW_VOLUME] = "流量与排水量",
	[S_BANDS] = "时间轴上的阴影", [S_GAP] = "数据缺失（超过 3 个采集周期无数据）",
	[S_UNHEALTHY] = "传感器异常（数据质量非正常）", [S_MAINT] = "维护",
	[S_CALIB] = "校准", [S_ALERT_BAND] = "报警期间", [S_MEAN] = "均值",
	[S_DAY_SHEET] = "日报表", [S_STATISTIC] = "统计值", [S_RESULT] = "结论",
	[S_PASS] = "达标", [S_FAIL] = "超标", [S_NOT_JUDGED] = "无数据",
	[S_EXCEEDANCES] = "超标报警", [S_NONE] = "无", [S_COVERAGE] = "数据覆盖率",
	[S_FOOTER] = "证据", [S_DIGEST] = "监测数据 SHA-256",
	[S_DIGEST_DEF] = "即 `outfallctl report --csv` 在本文件旁写出的监测数据 CSV 文件"
			 "（同名，扩展名 .csv，含表头行）全部字节的 SHA-256（十六进制）。",
	[S_VERSION] = "软件版本", [S_CLOCK] = "时钟状态", [S_MADE] = "报告生成时间",
	[S_POINTS] = "个数据点", [S_ALERTS_IN_SPAN] = "本时段报警",
	[S_INSTANT] = "瞬时值", [S_ROLLING] = "滑动均值", [S_HOURLY] = "小时均值",
	[S_DAILY] = "日均值", [S_GOOD] = "有效数据", [S_EXPECTED] = "应有",
};

const char *report_tr(enum rpt_lang lang, enum rpt_str s)
{
	const char *t;

	if ((unsigned)s >= S_COUNT)
		return "?";
	t = (lang == LANG_ZH ? zh : en)[s];
	return t ? t : en[s] ? en[s] : "?";
}

enum rpt_lang report_lang_default(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return strncmp(v, "zh", 2) == 0 ? LANG_ZH : LANG_EN;
	}
	return LANG_EN;
}
