// Number, duration and time formatting shared by every view.

const UNITS = [
  [1e12, "T"],
  [1e9, "B"],
  [1e6, "M"],
  [1e3, "k"],
];

export function formatCount(value) {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n)) return "–";
  const abs = Math.abs(n);
  for (const [size, suffix] of UNITS) {
    if (abs >= size) {
      const scaled = n / size;
      return `${scaled >= 100 ? scaled.toFixed(0) : scaled.toFixed(1).replace(/\.0$/, "")}${suffix}`;
    }
  }
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, "");
}

export function formatMs(value) {
  const ms = Number(value);
  if (value === null || value === undefined || !Number.isFinite(ms)) return "–";
  if (ms >= 60000) return `${(ms / 60000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10 || ms === 0) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatPercent(ratio) {
  const r = Number(ratio ?? 0);
  if (!Number.isFinite(r)) return "–";
  const pct = r * 100;
  return `${pct >= 10 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

// Nanoseconds since the epoch (a JSON number, so precise to ~µs) as local date and time.
export function formatTimeNs(ns) {
  const d = new Date(Number(ns) / 1e6);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

export function formatValue(value, unit) {
  if (unit === "ms") return formatMs(value);
  if (unit === "ratio") return formatPercent(value);
  return formatCount(value);
}
