/**
 * Pieces shared by the role screens: API errors in the person's language
 * (never the server's English detail inside a translated sentence), and
 * visible progress on every action that waits for the server.
 */
import { ApiError } from './api.ts';
import { h } from './dom.ts';
import { ERROR_CATALOGUE } from '../../shared/error-catalogue.ts';
import { dictionaries, t, type MessageKey } from './i18n.ts';

/** The error `code` of a failure: an HTTP problem (ApiError) or a refused socket request (RequestError, signal.ts). */
function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' ? code : undefined;
}

const has = (key: string): key is MessageKey => key in dictionaries.en;

/**
 * The sentence for a failure of the server, in the person's language, keyed
 * by the stable error `code` (src/shared/error-catalogue.ts): the code's own
 * text when there is one, else the text of its kind (unavailable, forbidden,
 * rate limited…), else a generic sentence naming the code. The server's
 * English `message` is never shown.
 */
export function errorText(err: unknown): string {
  const code = codeOf(err);
  if (code === undefined) return t('apiError.network');
  const status = err instanceof ApiError ? err.status : undefined;
  return codeText(code, status);
}

/** `errorText` for a bare code (a refusal carried by an event rather than an error). */
export function codeText(code: string, status?: number): string {
  const key = `apiError.${code}`;
  if (has(key)) return t(key);
  const kind = (ERROR_CATALOGUE as Record<string, { kind: string }>)[code]?.kind;
  if (kind === 'forbidden' || status === 403) return t('apiError.forbidden');
  if (kind === 'rate_limited' || status === 429) return t('apiError.rate_limited');
  if (kind === 'unauthenticated' || status === 401) return t('apiError.token_invalid');
  if (kind === 'unavailable' || status === 503 || status === 502 || status === 504) return t('apiError.kind.unavailable');
  if (kind === 'internal' || (status !== undefined && status >= 500)) return t('apiError.internal_error');
  if (kind === 'not_found' || status === 404) return t('apiError.kind.not_found');
  if (kind === 'conflict' || status === 409) return t('apiError.kind.conflict');
  if (kind !== undefined) return t('apiError.kind.invalid', { code });
  return t('apiError.unknown', { code });
}

/**
 * Why a camera, microphone or screen could not be used: the browser's reason
 * by its name (NotAllowedError…), or the server's refusal to take the media
 * (observer_cannot_produce…), never the browser's or the server's English.
 */
export function mediaErrorText(err: unknown): string {
  if (codeOf(err) !== undefined) return errorText(err);
  const name = (err as { name?: unknown } | null)?.name;
  const key = `media.${typeof name === 'string' ? name : ''}`;
  return has(key) ? t(key) : t('media.other');
}

/** A status line read out by screen readers: `role=status` for news, `role=alert` for failures. */
export function statusLine(id: string): { element: HTMLElement; info(text: string): void; fail(err: unknown): void; clear(): void } {
  const element = h('p', { id, role: 'status', class: 'muted', 'aria-live': 'polite' });
  return {
    element,
    info(text) {
      element.className = 'muted';
      element.textContent = text;
    },
    fail(err) {
      element.className = 'error';
      element.textContent = errorText(err);
    },
    clear() {
      element.textContent = '';
    },
  };
}

/**
 * Runs a server action with visible progress: the button is disabled and
 * says it is working, an indeterminate progress bar is shown beside it
 * until the action settles.
 */
export async function withProgress<T>(button: HTMLButtonElement, action: () => Promise<T>): Promise<T> {
  const label = button.textContent ?? '';
  const bar = h('progress', { class: 'working', 'aria-label': t('common.working') });
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = t('common.working');
  button.after(bar);
  try {
    return await action();
  } finally {
    bar.remove();
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = label;
  }
}

/** A "loading" placeholder list item / paragraph for sections filled asynchronously. */
export const loading = () => h('p', { class: 'muted loading' }, t('common.loading'));

export const backLink = () => h('p', {}, h('a', { href: '#/sessions', class: 'back' }, t('common.back')));
