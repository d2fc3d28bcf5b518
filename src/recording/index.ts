export { recordingPlugin } from './plugin.ts';
export { CompositeService, type CompositeView, type CompositeStatus } from './composite.ts';
export { RecordingService, type RecordingView, type RecordingStateEvent, type RecordingRoom } from './service.ts';
export { TrackRecorder, type SegmentInfo } from './track-recorder.ts';
export { SessionRecording, type RecordableRoom } from './session-recording.ts';
export { integrityReport, type IntegrityReport } from './report.ts';
