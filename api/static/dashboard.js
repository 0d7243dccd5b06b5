// The bureau's dashboard: fetches /dashboard/data (the session cookie) and draws it with the
// vendored Apache ECharts. No other origin is contacted.
"use strict";

const STATUS = { on_track: "进度正常", behind: "进度滞后", at_risk: "有完不成风险" };
const CLAIM_STATUS = {
  submitted: "待计算", computed: "待审核", in_review: "审核中", decided: "待公示",
  noticed: "公示中", payable: "待拨付", paid: "已拨付", withdrawn: "已撤回", failed: "计算失败",
};
const KEYS = {
  other: "其他工种", priority: "重点工种(合计)", none: "无",
  graduate: "高校毕业生", migrant_worker: "农民工", veteran: "退役军人", hardship: "就业困难人员",
  rural_labour: "农村劳动力", disabled: "残疾人", unemployed_youth: "失业青年", poverty_alleviated: "脱贫人口",
};
const labelled = (items) => items.map((i) => Object.assign({}, i, { label: KEYS[i.label] || KEYS[i.key] || i.label }));
const fmt = new Intl.NumberFormat("zh-CN");
const yuan = (fen) => fmt.format(Math.round(fen / 100));

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawn(chart, node) {
  chart.on("finished", () => node.setAttribute("data-drawn", "1"));
}

function chartOn(id, option) {
  const node = document.getElementById(id);
  const chart = echarts.init(node, null, { renderer: "canvas" });
  drawn(chart, node);
  chart.setOption(Object.assign({ animation: false, tooltip: { trigger: "axis" } }, option));
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

function cards(data) {
  const box = document.getElementById("cards");
  for (const card of data.cards || []) {
    const div = el("div", { class: "card", "data-metric": card.metric });
    div.append(el("h3", {}, card.label));
    div.append(el("div", { class: "value", "data-value": String(card.value) }, fmt.format(card.value)));
    const target = card.target ? `目标 ${fmt.format(card.target)}` : "未设目标";
    div.append(el("div", { class: "target" }, target));
    if (card.target) {
      const bar = el("div", { class: "bar" });
      const share = Math.min(100, (100 * card.value) / card.target);
      bar.append(el("div", { class: "fill", style: `width:${share.toFixed(1)}%` }));
      if (card.expected !== null && card.expected !== undefined) {
        const at = Math.min(100, (100 * card.expected) / card.target);
        bar.append(el("div", { class: "marker", style: `left:${at.toFixed(1)}%`, title: `应达 ${fmt.format(card.expected)}` }));
      }
      div.append(bar);
    }
    if (card.status) div.append(el("span", { class: `status ${card.status}` }, STATUS[card.status] || card.status));
    if (card.forecast !== null && card.forecast !== undefined) {
      div.append(el("p", { class: "note" }, `年末预计 ${fmt.format(card.forecast)}；今日应达 ${fmt.format(card.expected)}`));
    }
    if (card.note) div.append(el("p", { class: "note" }, card.note));
    box.append(div);
  }
}

function trend(data) {
  const t = data.trend;
  const months = Array.from({ length: 12 }, (_, i) => `${i + 1}月`);
  const series = [
    { name: `${t.year}年`, type: "line", data: t.this_year, smooth: true },
    { name: `${t.year - 1}年`, type: "line", data: t.last_year, smooth: true, lineStyle: { type: "dashed" } },
  ];
  if (t.target) series.push({ name: "年度目标", type: "line", data: months.map(() => t.target), symbol: "none", lineStyle: { color: "#d64545" } });
  chartOn("chart-trend", {
    legend: {}, grid: { left: 60, right: 20, top: 30, bottom: 30 },
    xAxis: { type: "category", data: months }, yAxis: { type: "value" }, series,
  });
  document.getElementById("trend-note").textContent = t.note || "";
}

function bars(id, items, name, horizontal) {
  const labels = items.map((i) => i.label);
  const values = items.map((i) => i.value);
  const series = [{ name, type: "bar", data: values }];
  if (items.some((i) => i.target)) series.push({ name: "目标", type: "bar", data: items.map((i) => i.target || 0), itemStyle: { color: "#cbd2d9" } });
  const category = { type: "category", data: labels, axisLabel: { interval: 0, rotate: horizontal ? 0 : 30 } };
  chartOn(id, {
    legend: {}, grid: { left: horizontal ? 120 : 50, right: 20, top: 30, bottom: horizontal ? 30 : 70 },
    xAxis: horizontal ? { type: "value" } : category, yAxis: horizontal ? category : { type: "value" }, series,
  });
}

function claims(data) {
  const steps = (data.claims || []).filter((s) => !["withdrawn", "failed"].includes(s.status));
  chartOn("chart-claims", {
    legend: {}, grid: { left: 60, right: 60, top: 30, bottom: 30 },
    xAxis: { type: "category", data: steps.map((s) => CLAIM_STATUS[s.status] || s.status) },
    yAxis: [{ type: "value", name: "申请数" }, { type: "value", name: "金额(元)" }],
    series: [
      { name: "申请数", type: "bar", data: steps.map((s) => s.claims) },
      { name: "金额(元)", type: "line", yAxisIndex: 1, data: steps.map((s) => Math.round(s.total_fen / 100)) },
    ],
  });
}

function risk(data) {
  const body = document.querySelector("#risk tbody");
  for (const r of data.risk || []) {
    const row = el("tr", { "data-institution": r.institution_id });
    row.append(el("td", {}, r.name), el("td", {}, r.division_code), el("td", { class: "num" }, fmt.format(r.trainees)));
    row.append(el("td", { class: "num" }, fmt.format(r.flags)), el("td", { class: "num" }, r.per_hundred.toFixed(1)));
    const top = Object.entries(r.by_code).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([code, n]) => `${code} ${n}`);
    row.append(el("td", {}, top.join("，")));
    const links = el("td");
    r.claims.forEach((href, i) => { const a = el("a", { href }, `#${i + 1}`); links.append(a, document.createTextNode(" ")); });
    row.append(links);
    body.append(row);
  }
}

async function main() {
  const year = new URLSearchParams(window.location.search).get("year");
  const url = year && /^\d{4}$/.test(year) ? `/dashboard/data?year=${year}` : "/dashboard/data";
  const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (answer.status === 401) { window.location.assign("/dashboard/sign-in"); return; }
  const data = await answer.json();
  document.getElementById("scope-name").textContent = data.scope.name ? `· ${data.scope.name}` : "";
  document.getElementById("as-of").textContent =
    `${data.year}年 · ` + (data.as_of ? `数据截至 ${data.as_of}` : "尚未汇总");
  cards(data);
  if (data.trend) trend(data);
  bars("chart-county", data.by_county || [], "培训人数", true);
  bars("chart-sector", labelled(data.sectors || []), "培训人数", false);
  bars("chart-group", labelled(data.groups || []), "培训人数", false);
  claims(data);
  risk(data);
  document.body.setAttribute("data-loaded", "1");
}

document.addEventListener("DOMContentLoaded", () => { main().catch((e) => { document.body.setAttribute("data-error", String(e)); }); });
