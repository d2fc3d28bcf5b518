import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../shared/errors.ts';
import { parseRange } from './range.ts';

/**
 * Sends a recording file with HTTP Range (206, 416 with problem+json,
 * If-Range on the sha256 ETag), so players can seek without downloading
 * the whole file. `inline` lets a video element play it instead of saving it.
 */
export async function sendRecordingFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: { path: string; fileName: string; mimeType: string; sha256: string | null; inline?: boolean },
): Promise<FastifyReply> {
  const info = await stat(file.path).catch(() => undefined);
  if (!info) throw notFound('recording_file_missing', 'The file of this recording is missing');
  const size = info.size;
  reply.header('accept-ranges', 'bytes');
  reply.header('content-disposition', `${file.inline ? 'inline' : 'attachment'}; filename="${file.fileName}"`);
  if (file.sha256) reply.header('etag', `"${file.sha256}"`);
  reply.type(file.mimeType);
  // If-Range with a different validator: the whole file.
  const ifRange = request.headers['if-range'];
  const range = ifRange && file.sha256 && ifRange !== `"${file.sha256}"` ? { kind: 'full' as const } : parseRange(request.headers.range, size);
  if (range.kind === 'unsatisfiable') {
    return reply
      .code(416)
      .header('content-range', `bytes */${size}`)
      .type('application/problem+json')
      .send({ type: 'about:blank', title: 'Range Not Satisfiable', status: 416, code: 'range_not_satisfiable', detail: `The file has ${size} bytes` });
  }
  if (range.kind === 'partial') {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1);
    return reply.send(createReadStream(file.path, { start: range.start, end: range.end }));
  }
  reply.header('content-length', size);
  return reply.send(createReadStream(file.path));
}
