import { Box } from '@mantine/core';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

// recharts is the heaviest dependency of the console: this module is loaded with React.lazy only
// by the dashboards, so sign-in and the other screens never download it.

export type Series = { key: string; label: string; color: string };

const number = (v: unknown) => (typeof v === 'number' ? v.toLocaleString(undefined, { maximumFractionDigits: 2 }) : String(v));

/** A line per series over `x`; the figure has a name for screen readers (the table beside it has the numbers). */
export function LineFigure({ data, x, series, label, height = 280 }: { data: Array<Record<string, unknown>>; x: string; series: Series[]; label: string; height?: number }) {
  return (
    <Box role="img" aria-label={label} h={height}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 8, right: 24, bottom: 8, left: 8 }} accessibilityLayer={false}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-gray-3)" />
          <XAxis dataKey={x} tick={{ fontSize: 12, fill: 'var(--mantine-color-gray-8)' }} />
          <YAxis tickFormatter={number} tick={{ fontSize: 12, fill: 'var(--mantine-color-gray-8)' }} width={90} />
          <Tooltip formatter={number} />
          <Legend />
          {series.map((s) => <Line key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={s.color} strokeWidth={2} dot={data.length < 40} isAnimationActive={false} />)}
        </LineChart>
      </ResponsiveContainer>
    </Box>
  );
}

/** Bars per category (`x`), one bar per series; `counts` keeps the axis to whole numbers. */
export function BarFigure({ data, x, series, label, height = 280, counts = false }: { data: Array<Record<string, unknown>>; x: string; series: Series[]; label: string; height?: number; counts?: boolean }) {
  return (
    <Box role="img" aria-label={label} h={height}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 24, bottom: 8, left: 8 }} accessibilityLayer={false}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-gray-3)" />
          <XAxis dataKey={x} tick={{ fontSize: 12, fill: 'var(--mantine-color-gray-8)' }} />
          <YAxis tickFormatter={number} tick={{ fontSize: 12, fill: 'var(--mantine-color-gray-8)' }} width={90} allowDecimals={!counts} />
          <Tooltip formatter={number} />
          <Legend />
          {series.map((s) => <Bar key={s.key} dataKey={s.key} name={s.label} fill={s.color} isAnimationActive={false} />)}
        </BarChart>
      </ResponsiveContainer>
    </Box>
  );
}

