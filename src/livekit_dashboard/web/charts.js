// ECharts wrappers: time series and a pie that draw exactly what the panel API returned.
//
// - Every series has a value for every bucket of the range, in the same order (ECharts stacks bars
//   by position, so a series missing a bucket would stack on the wrong bars).
// - Counts (and dollars) are zero in an empty bucket; latencies and ratios have no value there (a gap,
//   never a line drawn across hours without data, never a 0% success rate for hours without calls).
// - One colour per series key (service, model, stage, …) in every chart and time range: a key's colour
//   comes from a hash of the key, and within one chart two keys never share a colour.
// - One unit per axis (ms below a second, s above, never "900 ms" beside "1.20 s").
// Each chart's element carries the instance (`node.lkdChart`) so tests can read what is drawn.
import { escapeHtml } from "./dom.js";
import { formatBucket, formatCount, formatPercent, formatUSD } from "./format.js";

// ECharts (1.1 MB) loads and compiles while the app already asks the API for the panels, not before
// the app may start: a view draws its charts once chartsReady() has resolved
let echarts = null;
const loaded = import("./vendor/echarts-6.1.0.esm.min.js").then((module) => {
  echarts = module;
});
export function chartsReady() {
  return loaded;
}

const live = new Set();
const DASHES = ["solid", "dashed", "dotted"];
window.addEventListener("resize", () => live.forEach((chart) => chart.resize()));

// Tableau 10: ten colours that stay apart side by side; a chart with more keys than that also takes
// the ten of Tableau 20's lighter shades
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const LIGHTER = ["#a0cbe8", "#ffbe7d", "#8cd17d", "#ff9d9a", "#86bcb6", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e"];

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

// key -> colour for the keys of one chart: each key's own colour unless an earlier key took it
export function colours(keys) {
  const sorted = [...new Set(keys)].sort();
  const palette = sorted.length > PALETTE.length ? [...PALETTE, ...LIGHTER] : PALETTE;
  const used = new Set();
  const out = new Map();
  for (const key of sorted) {
    let index = hash(key) % palette.length;
    for (let tries = 0; used.has(index) && tries < palette.length; tries++) index = (index + 1) % palette.length;
    used.add(index);
    out.set(key, palette[index]);
  }
  return out;
}

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
  node.lkdChart = chart;
  return chart;
}

// The bucket starts (unix seconds) of a range, as the API's toStartOfInterval makes them.
export function buckets(range) {
  const step = range.step_s;
  const first = Math.floor(range.start_unix_nano / 1e9 / step) * step;
  const out = [];
  for (let t = first; t < range.end_unix_nano / 1e9; t += step) out.push(t);
  return out;
}

export function stepLabel(seconds) {
  const units = [
    [86400 * 7, "week"],
    [86400, "day"],
    [3600, "hour"],
    [60, "min"],
    [1, "s"],
  ];
  for (const [size, name] of units) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? `1 ${name}` : `${n} ${name === "min" || name === "s" ? name : `${name}s`}`;
    }
  }
  return `${seconds} s`;
}

// One unit for a whole axis of milliseconds, chosen from the largest value.
export function msAxis(max) {
  if (max >= 60000) return { divisor: 60000, suffix: " min", digits: max >= 600000 ? 0 : 1 };
  if (max >= 1000) return { divisor: 1000, suffix: " s", digits: max >= 10000 ? 0 : 1 };
  return { divisor: 1, suffix: " ms", digits: 0 };
}

function usdTick(value) {
  const n = Number(value);
  if (n === 0) return "$0";
  const decimals = Math.max(2, (String(Number(Math.abs(n).toFixed(6))).split(".")[1] ?? "").length);
  return `${n < 0 ? "-" : ""}$${Math.abs(n).toFixed(decimals)}`;
}

function formatMsWith(axis, value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
  if (Number(value) === 0) return `0${axis.suffix}`;
  return `${(Number(value) / axis.divisor).toFixed(axis.digits)}${axis.suffix}`;
}

// rows: [{bucket, <group keys>, <value keys>}]; series: [{label, value}] -> one series per
// series × group value (named groupLabel(value) when given), aligned on the range's buckets.
// onBucket(start unix s, step s, group): a click anywhere in the plot over a bucket (click-through to
// what that bucket counted); group is the group value (a service, an agent) of the series when the
// click was on one of its points or bars, else "" (also for rows without one, drawn as "(none)").
export function timeSeries(node, rows, { series, groupBy, groupLabel, unit, stack = false, range, onBucket }) {
  const times = buckets(range);
  const index = new Map(times.map((t, i) => [t, i]));
  // a bucket the API did not return: nothing happened in it, which is 0 of a count, but no latency
  // and no rate
  const isCount = unit !== "ms" && unit !== "ratio";
  const lines = new Map();
  for (const row of rows) {
    const group = groupBy ? row[groupBy] || "(none)" : "";
    for (const [order, s] of series.entries()) {
      const name = [groupLabel && group ? groupLabel(group) : group, s.label].filter(Boolean).join(" · ");
      if (!lines.has(name)) lines.set(name, { key: group || s.label, order, dash: s.dash, values: times.map(() => (isCount ? 0 : null)) });
      const at = index.get(row.bucket);
      const value = row[s.value];
      if (at !== undefined && value !== null && value !== undefined) lines.get(name).values[at] = Number(value);
    }
  }
  // one colour per key (a service is the same colour in every chart); a key's several lines (p50, p95,
  // p99) differ by their dash; stacked bars have no dash, so a key's several bars (input, output) each
  // get a colour; series in a fixed order (by key, then series), whatever the rows' order
  const byKey = !stack || series.length === 1;
  const colourOf = (name, line) => (byKey ? line.key : name);
  const palette = colours([...lines.entries()].map(([name, line]) => colourOf(name, line)));
  const sorted = [...lines.entries()].sort(([, a], [, b]) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.order - b.order));
  // the axis's top: a stack's is the highest bucket's sum
  const max = stack
    ? Math.max(0, ...times.map((_, i) => [...lines.values()].reduce((sum, l) => sum + (l.values[i] ?? 0), 0)))
    : Math.max(0, ...[...lines.values()].flatMap((l) => l.values.filter((v) => v !== null)));
  const axis = unit === "ms" ? msAxis(max) : null;
  const format = (v) => (axis ? formatMsWith(axis, v) : unit === "ratio" ? formatPercent(v) : unit === "usd" ? formatUSD(v) : formatCount(v));
  // an axis's dollar ticks with the decimals their step needs ($0.05, $0.10, $0.15), not each value's
  // three significant digits
  const tick = (v) => (unit === "usd" && Math.abs(v) < 10000 ? usdTick(v) : format(v));
  const chart = mount(node);
  chart.setOption({
    animation: false,
    grid: { left: 60, right: 16, top: 28, bottom: 28 },
    legend: { type: "scroll", top: 0, textStyle: { fontSize: 11 } },
    tooltip: {
      trigger: "axis",
      className: "lkd-tooltip",
      valueFormatter: format,
      // series names are telemetry text: the tooltip is HTML, so escape them
      formatter: (items) =>
        [
          escapeHtml(formatBucket(items[0].value[0], range.step_s)),
          ...items.map((p) => `${p.marker}${escapeHtml(p.seriesName)}: <b>${escapeHtml(format(p.value[1]))}</b>`),
        ].join("<br>"),
    },
    xAxis: {
      type: "time",
      min: range.start_unix_nano / 1e6,
      max: range.end_unix_nano / 1e6,
      axisLabel: { formatter: { year: "{yyyy}", month: "{MMM}", day: "{MMM} {d}", hour: "{HH}:{mm}", minute: "{HH}:{mm}" } },
    },
    // counts come in whole units: no "0.5 calls" tick
    yAxis: { type: "value", minInterval: isCount && unit !== "usd" ? 1 : 0, axisLabel: { formatter: tick } },
    series: sorted.map(([name, line]) => ({
      name,
      type: stack ? "bar" : "line",
      stack: stack ? "total" : undefined,
      // a value between two gaps is a lone point, drawn as a dot or it would not show at all; other
      // points get no dot over many buckets (a dot per point was half of ECharts' time on the page)
      showSymbol: true,
      symbol: times.length < 40 ? "emptyCircle" : "none",
      symbolSize: times.length < 40 ? 4 : 3,
      connectNulls: false,
      // a click on the line (not only on a dot) reports its series
      triggerLineEvent: true,
      color: palette.get(colourOf(name, line)),
      lineStyle: { type: line.dash ?? DASHES[line.order] ?? "solid" },
      data: times.map((t, i) => {
        const [before, value, after] = [line.values[i - 1] ?? null, line.values[i], line.values[i + 1] ?? null];
        const lone = value !== null && before === null && after === null;
        return lone && times.length >= 40 ? { value: [t * 1000, value], symbol: "circle", symbolSize: 6 } : [t * 1000, value];
      }),
    })),
  });
  if (onBucket) {
    node.classList.add("clickable-chart");
    // a click on a point or bar also reports its series (ECharts' own click event, in no set order
    // with the plain click below): read once both have run
    const groupOf = new Map([...lines.entries()].map(([name, line]) => [name, groupBy && line.key !== "(none)" ? line.key : ""]));
    let clickedGroup = "";
    chart.on("click", (p) => {
      clickedGroup = groupOf.get(p.seriesName) ?? "";
    });
    chart.getZr().on("click", (e) => {
      const at = [e.offsetX, e.offsetY];
      const inside = chart.containPixel({ gridIndex: 0 }, at);
      // the bucket whose point is nearest, as the tooltip shows it
      const ms = inside ? chart.convertFromPixel({ gridIndex: 0 }, at)[0] : 0;
      const bucket = times.reduce((best, t) => (Math.abs(t * 1000 - ms) < Math.abs(best * 1000 - ms) ? t : best), times[0]);
      // after ECharts has handled this click: opening the calls disposes this chart, and a click on a
      // point still has the point's own handlers to run
      setTimeout(() => {
        const group = clickedGroup;
        clickedGroup = "";
        if (inside && bucket !== undefined) onBucket(bucket, range.step_s, group);
      });
    });
  }
  return chart;
}

export function pie(node, items) {
  const palette = colours(items.map((item) => item.name));
  const chart = mount(node);
  chart.setOption({
    animation: false,
    tooltip: {
      trigger: "item",
      className: "lkd-tooltip",
      // model and provider names are telemetry text: the tooltip is HTML, so escape them
      formatter: (p) => `${escapeHtml(p.name)}: ${escapeHtml(formatCount(p.value))} (${p.percent}%)`,
    },
    legend: { type: "scroll", orient: "vertical", right: 0, top: 8, textStyle: { fontSize: 11 } },
    series: [
      {
        type: "pie",
        radius: ["38%", "68%"],
        center: ["36%", "52%"],
        label: { show: false },
        data: items.map((item) => ({ ...item, itemStyle: { color: palette.get(item.name) } })),
      },
    ],
  });
  return chart;
}
