import { resolve } from 'node:path';
import { Type } from 'typebox';
import { ConfigError, readEnv, type Env } from '../shared/env.ts';

/** Recording's variables (part of the configuration schema, src/server/config.ts). */
export const recordingEnv = Type.Object({
  RECORDINGS_DIR: Type.Optional(Type.String({ defaultText: 'DATA_DIR/recordings', description: 'Where recording files are written' })),
  FFMPEG_PATH: Type.String({ default: 'ffmpeg', description: 'FFmpeg binary of the recorders (checked at start)' }),
  FFPROBE_PATH: Type.String({ default: 'ffprobe', description: 'ffprobe binary of the post-processing job' }),
  RECORDING_RETENTION_DAYS: Type.Integer({ default: 365, minimum: 1, description: 'Files deleted after this, metadata kept' }),
  RECORD_DELIBERATION: Type.Boolean({ default: false, description: 'Whether a jury’s deliberation is recorded (school rule)' }),
  RECORDING_PORT_MIN: Type.Integer({ default: 61000, minimum: 1024, maximum: 65532, description: 'First UDP port handed to FFmpeg recorders (even pairs: RTP, RTCP)' }),
  RECORDING_PORT_MAX: Type.Integer({ default: 64999, minimum: 1026, maximum: 65535, description: 'Last UDP port for FFmpeg recorders' }),
  RECORDING_SPARE_RECORDERS: Type.Integer({
    default: 4,
    minimum: 0,
    maximum: 32,
    description: 'Recorder FFmpegs kept started while recordings run (one per track in use, up to this many per container), so a track that starts mid-session loses no media to FFmpeg’s start',
  }),
  RECORDING_VIDEO_SPATIAL_LAYER: Type.Optional(Type.Integer({ minimum: 0, maximum: 3, defaultText: 'unset: the highest the sender gives', description: 'Pin recorded simulcast video to this spatial layer' })),
  RECORD_DEFENCES_AUTOMATICALLY: Type.Boolean({ default: true, description: 'Defence rooms start recording on their own when they open' }),
  RECORDING_COMPOSITE_HEIGHT: Type.Integer({ default: 720, minimum: 144, maximum: 2160, description: 'Height (16:9) of the composite playback file' }),
  RECORDING_COMPOSITE_FPS: Type.Integer({ default: 25, minimum: 5, maximum: 60, description: 'Frame rate of the composite playback file' }),
  RECORDING_COMPOSITE_NICE: Type.Integer({ default: 10, minimum: 0, maximum: 19, description: 'nice level of the composite FFmpeg (leaves CPU to live media)' }),
});

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
  /** Recorder FFmpegs kept started per container while recordings run (recorder-pool.ts). */
  spareRecorders: number;
  /** Pin recorded simulcast video to this spatial layer (unset: the highest the sender gives). */
  videoSpatialLayer: number | undefined;
  /** Defence rooms start recording on their own when they open. */
  autoRecordDefences: boolean;
  /** The composite file's height (16:9) and frame rate (composite.ts). */
  compositeHeight: number;
  compositeFps: number;
  /** Niceness of the composing FFmpeg (0–19): live rooms and recorders come first. */
  compositeNice: number;
}

export function readRecordingConfig(env: Env, dataDir: string): RecordingConfig {
  const v = readEnv(recordingEnv, env);
  if (v.RECORDING_PORT_MAX - v.RECORDING_PORT_MIN < 3) {
    throw new ConfigError('RECORDING_PORT_MAX', `must leave room for at least two port pairs above RECORDING_PORT_MIN (${v.RECORDING_PORT_MIN}), got ${v.RECORDING_PORT_MAX}`);
  }
  return {
    dir: resolve(v.RECORDINGS_DIR ?? `${dataDir}/recordings`),
    ffmpegPath: v.FFMPEG_PATH,
    ffprobePath: v.FFPROBE_PATH,
    retentionDays: v.RECORDING_RETENTION_DAYS,
    recordDeliberation: v.RECORD_DELIBERATION,
    portMin: v.RECORDING_PORT_MIN,
    portMax: v.RECORDING_PORT_MAX,
    spareRecorders: v.RECORDING_SPARE_RECORDERS,
    videoSpatialLayer: v.RECORDING_VIDEO_SPATIAL_LAYER,
    autoRecordDefences: v.RECORD_DEFENCES_AUTOMATICALLY,
    compositeHeight: v.RECORDING_COMPOSITE_HEIGHT,
    compositeFps: v.RECORDING_COMPOSITE_FPS,
    compositeNice: v.RECORDING_COMPOSITE_NICE,
  };
}
