// The bureau's dashboard: fetches /dashboard/data (the session cookie) and draws it with the
// vendored Apache ECharts. No other origin is contacted. The data comes with its words in
// Chinese (api/labels.py: claim statuses, flags with their code beside, divisions by name);
// the legends sit above each chart's grid, clear of the axis labels and the data.
"use strict";

const STATUS = { on_track: "进度正常", behind: "进度滞后", at_risk: "有完不成风险" };
const KEYS = {
  other: "其他工种", priority: "重点工种(合计)", none: "无",
  graduate: "高校毕业生", migrant_worker: "农民工", veteran: "退役军人", hardship: "就业困难人员",
  rural_labour: "农村劳动力", disabled: "残疾人", unemployed_youth: "失业青年", poverty_alleviated: "脱贫人口",
};
const labelled = (items) => items.map((i) => Object.assign({}, i, { label: KEYS[i.label] || KEYS[i.key] || i.label }));
const fmt = new Intl.NumberFormat("zh-CN");
const money = new Intl.NumberFormat("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const yuan = (value) => `¥${money.format(value)}`;
// Above the grid: the legend's row, then (top: LEGEND_ROOM) the grid with its axis names.
const LEGEND = { top: 0, left: "center", itemHeight: 10, textStyle: { fontSize: 12 } };
const LEGEND_ROOM = 36;

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
      const expected = card.expected !== null && card.expected !== undefined ? `；今日应达 ${fmt.format(card.expected)}` : "";
      div.append(el("p", { class: "note" }, `年末预计 ${fmt.format(card.forecast)}${expected}`));
    }
    if (card.note) div.append(el("p", { class: "note" }, card.note));
    if (card.href) div.append(el("a", { class: "claims", href: card.href }, "查看本年度补贴申请"));
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
    legend: LEGEND, grid: { left: 60, right: 20, top: LEGEND_ROOM, bottom: 30 },
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
    legend: LEGEND, grid: { left: horizontal ? 120 : 50, right: 20, top: LEGEND_ROOM, bottom: horizontal ? 30 : 70 },
    xAxis: horizontal ? { type: "value" } : category, yAxis: horizontal ? category : { type: "value" }, series,
  });
}

function claims(data) {
  const steps = (data.claims || []).filter((s) => !["withdrawn", "failed"].includes(s.status));
  const chart = chartOn("chart-claims", {
    // The axis names sit just above the grid: the legend gets a row of its own above them.
    legend: LEGEND, grid: { left: 60, right: 70, top: LEGEND_ROOM + 24, bottom: 30 },
    xAxis: { type: "category", data: steps.map((s) => s.label), axisLabel: { interval: 0 } },
    yAxis: [
      { type: "value", name: "申请数", minInterval: 1 },
      { type: "value", name: "金额(元)", axisLabel: { formatter: (v) => fmt.format(v) } },
    ],
    series: [
      { name: "申请数", type: "bar", data: steps.map((s) => s.claims) },
      {
        name: "金额(元)", type: "line", yAxisIndex: 1, data: steps.map((s) => s.total_fen / 100),
        tooltip: { valueFormatter: (v) => yuan(v) },
      },
    ],
  });
  // A bar opens the workbench's claims in that status; the links below do the same by keyboard.
  chart.on("click", (event) => { const step = steps[event.dataIndex]; if (step) window.location.assign(step.href); });
  const links = document.getElementById("claims-links");
  links.append(document.createTextNode("按状态查看申请："));
  for (const s of data.claims || []) {
    const a = el("a", { href: s.href, "data-status": s.status, title: `金额 ${s.total}` }, `${s.label} ${fmt.format(s.claims)}`);
    links.append(a, document.createTextNode(" "));
  }
}

function risk(data) {
  const body = document.querySelector("#risk tbody");
  for (const r of data.risk || []) {
    const row = el("tr", { "data-institution": r.institution_id });
    const name = el("td");
    name.append(el("a", { class: "institution", href: r.href }, r.name));
    const division = el("td", { class: "division", title: r.division_code || "" }, r.division_name);
    row.append(name, division, el("td", { class: "num" }, fmt.format(r.trainees)));
    row.append(el("td", { class: "num" }, fmt.format(r.flags)), el("td", { class: "num" }, r.per_hundred.toFixed(1)));
    const flags = el("td");
    for (const f of r.top_flags) {
      const chip = el("span", { class: "flag", "data-code": f.code }, f.label);
      chip.append(el("b", {}, ` ${fmt.format(f.count)}`));
      flags.append(chip, document.createTextNode(" "));
    }
    row.append(flags);
    const links = el("td");
    r.claims.forEach((href, i) => { const a = el("a", { href, title: "打开这笔申请" }, `第${i + 1}笔`); links.append(a, document.createTextNode(" ")); });
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
    `${data.year}年 · ` + (data.as_of_label ? `数据截至 ${data.as_of_label}` : "尚未汇总");
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
