/**
 * A recording's integrity report in a few sentences (coordinators check
 * these before a recording serves as evidence): recorded vs expected time,
 * the gaps, whose audio or video is missing, unplayable segments.
 */
import type { IntegrityReport } from '../../recording/report.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';

const minutes = (ms: number) => Math.round(ms / 60_000);

export function integritySummary(report: Partial<IntegrityReport> | null | undefined, names: Map<string, string>): HTMLElement | null {
  if (!report) return null;
  const gaps = report.gaps ?? [];
  const missing = report.missingTracks ?? [];
  const unplayable = report.unplayableSegments ?? [];
  const lines: string[] = [];
  if (report.expectedMs !== undefined && report.recordedMs !== undefined) {
    lines.push(t('integrity.recorded', { recorded: minutes(report.recordedMs), expected: minutes(report.expectedMs), coverage: Math.round((report.sessionCoverage ?? 0) * 100) }));
  }
  if (gaps.length > 0) lines.push(t('integrity.gaps', { count: gaps.length, seconds: Math.round(gaps.reduce((sum, g) => sum + g.durationMs, 0) / 1000) }));
  if (missing.length > 0) {
    const list = missing.map((m) => `${names.get(m.userId) ?? m.userId} (${m.missing.map((k) => t(k === 'audio' ? 'integrity.audio' : 'integrity.video')).join(', ')})`).join(', ');
    lines.push(t('integrity.missing', { list }));
  }
  if (unplayable.length > 0) lines.push(t('integrity.unplayable', { count: unplayable.length }));
  const ok = report.ok ?? (missing.length === 0 && unplayable.length === 0);
  return h(
    'div',
    { class: `integrity ${ok ? 'ok' : 'problems'}`, 'data-ok': ok ? 'true' : 'false' },
    h('p', { class: 'integrity-title' }, h('strong', {}, t('integrity.title')), ' — ', ok ? t('integrity.ok') : t('integrity.problems')),
    lines.length ? h('ul', {}, ...lines.map((l) => h('li', {}, l))) : null,
  );
}
