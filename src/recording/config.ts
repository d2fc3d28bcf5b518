import { resolve } from 'node:path';
import { bool, ConfigError, int, str, type Env } from '../shared/env.ts';

export interface RecordingConfig {
  /** Where recording files are written. */
  dir: string;
  ffmpegPath: string;
  ffprobePath: string;
  /** Days after which files are deleted (metadata kept). */
  retentionDays: number;
  /** Whether a defence's deliberation phase is recorded (school rule). */
  recordDeliberation: boolean;
  /** UDP ports handed to the FFmpeg recorders (even pairs: RTP, RTCP). Outside the kernel's ephemeral range and mediasoup's defaults. */
  portMin: number;
  portMax: number;
  /** Pin recorded simulcast video to this spatial layer (unset: the highest the sender gives). */
  videoSpatialLayer: number | undefined;
  /** Defence rooms start recording on their own when they open. */
  autoRecordDefences: boolean;
}

export function readRecordingConfig(env: Env, dataDir: string): RecordingConfig {
  const portMin = int(env, 'RECORDING_PORT_MIN', 61000, { min: 1024, max: 65532 });
  const portMax = int(env, 'RECORDING_PORT_MAX', 64999, { min: 1026, max: 65535 });
  if (portMax - portMin < 3) throw new ConfigError('RECORDING_PORT_MAX', 'must leave room for at least two port pairs above RECORDING_PORT_MIN');
  const layer = str(env, 'RECORDING_VIDEO_SPATIAL_LAYER');
  return {
    dir: resolve(str(env, 'RECORDINGS_DIR', `${dataDir}/recordings`)),
    ffmpegPath: str(env, 'FFMPEG_PATH', 'ffmpeg'),
    ffprobePath: str(env, 'FFPROBE_PATH', 'ffprobe'),
    retentionDays: int(env, 'RECORDING_RETENTION_DAYS', 365, { min: 1 }),
    recordDeliberation: bool(env, 'RECORD_DELIBERATION', false),
    portMin,
    portMax,
    videoSpatialLayer: layer === undefined ? undefined : int(env, 'RECORDING_VIDEO_SPATIAL_LAYER', 0, { min: 0, max: 3 }),
    autoRecordDefences: bool(env, 'RECORD_DEFENCES_AUTOMATICALLY', true),
  };
}
