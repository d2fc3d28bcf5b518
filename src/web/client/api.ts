/**
 * HTTP API access: tokens kept in sessionStorage (per tab), a bearer header on
 * every call, one refresh on 401, problem+json errors as ApiError.
 */
import type { Locale } from './i18n.ts';

export interface User {
  id: string;
  email: string;
  name: string;
  role: 'student' | 'mentor' | 'jury' | 'coordinator';
  timeZone: string;
  locale: Locale;
}

interface StoredAuth {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
  user: User;
}

interface TokensResponse {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  user: User;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const KEY = 'ml.auth';
let listeners: Array<(user: User | undefined) => void> = [];

function read(): StoredAuth | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as StoredAuth) : undefined;
  } catch {
    return undefined;
  }
}

function store(tokens: TokensResponse): User {
  const auth: StoredAuth = {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + tokens.expiresIn * 1000,
    user: tokens.user,
  };
  sessionStorage.setItem(KEY, JSON.stringify(auth));
  return tokens.user;
}

export const currentUser = (): User | undefined => read()?.user;

/** Called when the person logs in or out (or the session can no longer be refreshed). */
export function onAuthChange(fn: (user: User | undefined) => void): void {
  listeners.push(fn);
}

function signedOut(): void {
  sessionStorage.removeItem(KEY);
  for (const fn of listeners) fn(undefined);
}

async function problem(res: Response): Promise<ApiError> {
  let body: { code?: string; detail?: string; title?: string; [k: string]: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    /* not JSON */
  }
  const { code, detail, title, ...rest } = body;
  return new ApiError(res.status, code ?? `http_${res.status}`, detail ?? title ?? res.statusText, rest);
}

export async function login(email: string, password: string): Promise<User> {
  const res = await fetch('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (!res.ok) throw await problem(res);
  const user = store((await res.json()) as TokensResponse);
  for (const fn of listeners) fn(user);
  return user;
}

export async function logout(): Promise<void> {
  const auth = read();
  signedOut();
  if (auth) await fetch('/auth/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: auth.refreshToken }) }).catch(() => undefined);
}

let refreshing: Promise<string> | undefined;

async function refresh(): Promise<string> {
  refreshing ??= (async () => {
    const auth = read();
    if (!auth) throw new ApiError(401, 'not_logged_in', 'Not logged in');
    const res = await fetch('/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: auth.refreshToken }) });
    if (!res.ok) {
      const err = await problem(res);
      if (res.status === 401 || res.status === 400) signedOut();
      throw err;
    }
    const tokens = (await res.json()) as TokensResponse;
    store(tokens);
    return tokens.accessToken;
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/** A valid access token (refreshed when it expires within 30 s). */
export async function accessToken(): Promise<string> {
  const auth = read();
  if (!auth) throw new ApiError(401, 'not_logged_in', 'Not logged in');
  if (auth.expiresAt - Date.now() < 30_000) return refresh();
  return auth.accessToken;
}

/** Socket.IO `auth` option: a fresh token at every (re)connection. */
export const socketAuth = (cb: (data: object) => void): void => {
  accessToken().then(
    (token) => cb({ token }),
    () => cb({ token: '' }),
  );
};

async function call(path: string, init: RequestInit = {}, retried = false): Promise<Response> {
  const token = await accessToken();
  const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${token}` } });
  if (res.status === 401 && !retried) {
    await refresh();
    return call(path, init, true);
  }
  if (!res.ok) throw await problem(res);
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await call(path)).json()) as T;
}

export async function getBlob(path: string): Promise<Blob> {
  return (await call(path)).blob();
}

export async function sendJson<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await call(path, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return (res.status === 204 ? undefined : await res.json()) as T;
}
