import { resolve } from 'node:path';
import { bool, int, str, type Env } from '../shared/env.ts';

export interface RecordingConfig {
  /** Where recording files are written. */
  dir: string;
  ffmpegPath: string;
  ffprobePath: string;
  /** Days after which files are deleted (metadata kept). */
  retentionDays: number;
  /** Whether a defence's deliberation phase is recorded (school rule). */
  recordDeliberation: boolean;
}

export function readRecordingConfig(env: Env, dataDir: string): RecordingConfig {
  return {
    dir: resolve(str(env, 'RECORDINGS_DIR', `${dataDir}/recordings`)),
    ffmpegPath: str(env, 'FFMPEG_PATH', 'ffmpeg'),
    ffprobePath: str(env, 'FFPROBE_PATH', 'ffprobe'),
    retentionDays: int(env, 'RECORDING_RETENTION_DAYS', 365, { min: 1 }),
    recordDeliberation: bool(env, 'RECORD_DELIBERATION', false),
  };
}
