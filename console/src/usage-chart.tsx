import type { JSX } from 'preact';
import type { UsageDay } from './types';

const WIDTH = 720;
const HEIGHT = 160;
const PAD_BOTTOM = 20;
const PAD_LEFT = 40;

const refused = (d: UsageDay): number => d.insufficientScope + d.expired + d.revoked;
const count = (n: number): string => n.toLocaleString('en-US');

/** What the chart shows, in words: its text alternative (and the only view for a screen reader). */
export function usageSummary(days: readonly UsageDay[]): string {
  const valid = days.reduce((n, d) => n + d.valid, 0);
  const refusals = days.reduce((n, d) => n + refused(d), 0);
  if (valid + refusals === 0) return `No verifications in the last ${days.length} days.`;
  const busiest = days.reduce((best, d) => (d.valid + refused(d) > best.valid + refused(best) ? d : best));
  return (
    `${count(valid + refusals)} verifications in the last ${days.length} days: ${count(valid)} valid, ${count(refusals)} refused. ` +
    `Busiest day ${busiest.day}, with ${count(busiest.valid + refused(busiest))}.`
  );
}

/**
 * Verifications per day as stacked bars (valid below, refused above), in plain SVG. The figure's
 * caption is the summary text; each bar has a title with its day's numbers.
 */
export function UsageChart({ days, title, id }: { days: readonly UsageDay[]; title: string; id: string }): JSX.Element {
  const max = Math.max(1, ...days.map((d) => d.valid + refused(d)));
  const plotWidth = WIDTH - PAD_LEFT;
  const plotHeight = HEIGHT - PAD_BOTTOM;
  const slot = plotWidth / Math.max(1, days.length);
  const bar = Math.max(1, slot * 0.8);
  const y = (n: number): number => (n / max) * plotHeight;
  const summary = usageSummary(days);
  return (
    <figure class="usage-chart" aria-labelledby={`${id}-title`}>
      <figcaption>
        <strong id={`${id}-title`}>{title}</strong>
        <span class="muted"> — </span>
        <span id={`${id}-summary`}>{summary}</span>
        <span class="usage-legend" aria-hidden="true">
          <span class="swatch swatch-valid" /> valid <span class="swatch swatch-refused" /> refused
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${id}-title ${id}-summary`} preserveAspectRatio="none">
        <line class="axis" x1={PAD_LEFT} y1={plotHeight} x2={WIDTH} y2={plotHeight} />
        <text class="axis-label" x={PAD_LEFT - 4} y={10} text-anchor="end">
          {count(max)}
        </text>
        <text class="axis-label" x={PAD_LEFT - 4} y={plotHeight} text-anchor="end">
          0
        </text>
        {days.map((d, i) => {
          const x = PAD_LEFT + i * slot + (slot - bar) / 2;
          const valid = y(d.valid);
          const refusals = y(refused(d));
          return (
            <g key={d.day}>
              <title>{`${d.day}: ${count(d.valid)} valid, ${count(refused(d))} refused (${count(d.insufficientScope)} missing scope, ${count(d.expired)} expired, ${count(d.revoked)} revoked)`}</title>
              <rect class="bar-valid" x={x} y={plotHeight - valid} width={bar} height={valid} />
              <rect class="bar-refused" x={x} y={plotHeight - valid - refusals} width={bar} height={refusals} />
            </g>
          );
        })}
        <text class="axis-label" x={PAD_LEFT} y={HEIGHT - 4}>
          {days[0]?.day}
        </text>
        <text class="axis-label" x={WIDTH} y={HEIGHT - 4} text-anchor="end">
          {days[days.length - 1]?.day}
        </text>
      </svg>
    </figure>
  );
}
