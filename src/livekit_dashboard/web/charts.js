// ECharts wrappers: time series per group, and a pie. Charts are resized with their container.
import * as echarts from "./vendor/echarts-6.1.0.esm.min.js";
import { formatValue } from "./format.js";

const live = new Set();
window.addEventListener("resize", () => live.forEach((chart) => chart.resize()));

export function disposeCharts(root) {
  for (const chart of [...live]) {
    if (!chart.getDom().isConnected || root.contains(chart.getDom())) {
      chart.dispose();
      live.delete(chart);
    }
  }
}

function mount(node) {
  const chart = echarts.init(node, null, { renderer: "canvas" });
  live.add(chart);
  return chart;
}

// rows: [{bucket, <group keys>, <value keys>}]; series: [{label, value, group?}] -> one line per
// series x group value. Buckets are unix seconds.
export function timeSeries(node, rows, { series, groupBy, unit, stack = false, range }) {
  const lines = new Map();
  for (const row of rows) {
    for (const s of series) {
      const group = groupBy ? row[groupBy] || "(none)" : "";
      const name = [group, s.label].filter(Boolean).join(" · ");
      if (!lines.has(name)) lines.set(name, []);
      lines.get(name).push([row.bucket * 1000, row[s.value]]);
    }
  }
  const chart = mount(node);
  chart.setOption({
    animation: false,
    grid: { left: 56, right: 16, top: 28, bottom: 28 },
    legend: { type: "scroll", top: 0, textStyle: { fontSize: 11 } },
    tooltip: { trigger: "axis", valueFormatter: (v) => formatValue(v, unit) },
    xAxis: {
      type: "time",
      min: range ? range.start_unix_nano / 1e6 : undefined,
      max: range ? range.end_unix_nano / 1e6 : undefined,
    },
    yAxis: { type: "value", axisLabel: { formatter: (v) => formatValue(v, unit) } },
    series: [...lines.entries()].map(([name, data]) => ({
      name,
      type: stack ? "bar" : "line",
      stack: stack ? "total" : undefined,
      showSymbol: data.length < 40,
      data,
    })),
  });
  return chart;
}

export function pie(node, items) {
  const chart = mount(node);
  chart.setOption({
    animation: false,
    tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${p.value} (${p.percent}%)` },
    legend: { type: "scroll", orient: "vertical", right: 0, top: 8, textStyle: { fontSize: 11 } },
    series: [
      {
        type: "pie",
        radius: ["38%", "68%"],
        center: ["36%", "52%"],
        label: { show: false },
        data: items,
      },
    ],
  });
  return chart;
}
