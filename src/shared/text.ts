/** Whether any string in `value` (nested objects and arrays too) contains a NUL character. */
export function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => hasNul(v, depth + 1));
  for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || hasNul(v, depth + 1)) return true;
  return false;
}

/**
 * Whether `value` holds binary data anywhere (a Buffer, an ArrayBuffer or a typed
 * array): Socket.IO carries them as attachments and hands them over as Buffers.
 * No event of this server takes binary, and a schema that lets a field through
 * as unknown (e.g. RTP parameters) would pass a Buffer on to its handler.
 */
export function hasBinary(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return true;
  if (depth > 64) return false;
  const values = Array.isArray(value) ? value : Object.values(value);
  return values.some((v) => hasBinary(v, depth + 1));
}
