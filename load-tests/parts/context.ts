import type { PartResult } from '../lib/report.ts';

export interface PartContext {
  smoke: boolean;
  /** Write CPU profiles of the servers here (undefined: no profiling). */
  profileDir: string | undefined;
  log(message: string): void;
}

export type Part = (ctx: PartContext) => Promise<Omit<PartResult, 'at' | 'durationS' | 'variant'>>;
