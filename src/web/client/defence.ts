/**
 * Jury defence display over the `/defence` namespace (progression): the phase
 * and its end time for everyone, the lobby screen for the candidate, admit and
 * next-phase controls for the jury, the verdict forms and the outcome
 * (verdict.ts). When the namespace is missing or the session is not a
 * defence, the panel stays hidden.
 */
import type { Socket } from 'socket.io-client';
import { currentUser, getJson } from './api.ts';
import { clear, h } from './dom.ts';
import { t, type MessageKey } from './i18n.ts';
import { connect, request } from './signal.ts';
import { formatDateTime } from './time.ts';
import { errorText } from './ui.ts';
import { VerdictArea, type Verdict } from './verdict.ts';

const PHASES = ['lobby', 'presentation', 'questions', 'deliberation', 'verdict', 'completed'] as const;
type Phase = (typeof PHASES)[number];

export interface DefenceState {
  sessionId: string;
  candidateId: string;
  phase: Phase;
  candidateView?: 'lobby' | 'live' | 'waiting' | 'done';
  phaseEndsAt?: string | null;
  outcome?: 'pass' | 'fail' | null;
  jury?: Array<{ userId: string; name: string }>;
  verdict?: Verdict | null;
  retakeAllowedFrom?: string | null;
  diplomaId?: string | null;
}

const NEXT: Partial<Record<Phase, Phase>> = { presentation: 'questions', questions: 'deliberation', deliberation: 'verdict' };
const phaseName = (p: string) => (PHASES.includes(p as Phase) ? t(`phase.${p}` as MessageKey) : p);

export class DefencePanel {
  readonly element: HTMLElement;
  readonly #sessionId: string;
  readonly #socket: Socket;
  readonly #formatTime: (iso: string) => string;
  readonly #onCandidateView: (view: string) => void;
  readonly #status: HTMLElement;
  readonly #verdict: VerdictArea;
  #role: string | undefined;
  #closed = false;

  constructor(sessionId: string, options: { formatTime: (iso: string) => string; onCandidateView: (view: string) => void }) {
    this.#sessionId = sessionId;
    this.#formatTime = options.formatTime;
    this.#onCandidateView = options.onCandidateView;
    this.#status = h('div', { class: 'defence-status', 'aria-live': 'polite' });
    const user = currentUser();
    const timeZone = user?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    this.#verdict = new VerdictArea({
      me: user?.id ?? '',
      propose: (verdict) => request(this.#socket, 'proposeVerdict', { sessionId: this.#sessionId, verdict }),
      confirm: (verdictId) => request(this.#socket, 'confirmVerdict', { sessionId: this.#sessionId, verdictId }),
      formatDateTime: (iso) => formatDateTime(iso, timeZone),
      diplomaReference: async (state) =>
        (await getJson<{ diploma?: { id: string; reference: string } | null }>(`/students/${state.candidateId}/progress`)).diploma?.reference,
    });
    this.element = h('section', { class: 'defence-panel', id: 'defence-panel', hidden: true }, this.#status, this.#verdict.element);
    this.#socket = connect('/defence');
    this.#socket.on('connect', () => void this.#join());
    this.#socket.on('connect_error', () => {
      // No /defence namespace on this server (or refused): nothing to show.
      if (!this.#socket.active) this.element.hidden = true;
    });
    this.#socket.on('defenceState', (state: DefenceState) => this.#render(state));
  }

  async #join(): Promise<void> {
    try {
      const { role, state } = await request<{ role: string; state: DefenceState }>(this.#socket, 'join', { sessionId: this.#sessionId });
      this.#role = role;
      this.#render(state);
    } catch {
      // Not a defence (or not available): stay hidden and stop trying.
      this.element.hidden = true;
      this.close();
    }
  }

  #render(state: DefenceState): void {
    if (state.sessionId !== this.#sessionId) return;
    this.element.hidden = false;
    clear(this.#status);
    const isJury = this.#role === 'jury';
    this.#verdict.update(state, this.#role);
    this.#status.append(
      h('h2', {}, t('defence.title')),
      h(
        'p',
        { class: 'phase', 'data-phase': state.phase },
        t('defence.phase', { phase: phaseName(state.phase) }),
        state.phaseEndsAt ? ` — ${t('defence.endsAt', { time: this.#formatTime(state.phaseEndsAt) })}` : '',
      ),
    );
    // The outcome, with the diploma or the retake date, is shown by the verdict area.
    if (this.#role === 'candidate' || this.#role === 'student') {
      const view = state.candidateView ?? (state.phase === 'lobby' ? 'lobby' : 'live');
      const text = view === 'lobby' ? t('defence.lobby') : view === 'waiting' ? t('defence.waiting') : view === 'done' ? t('defence.done') : '';
      if (text) this.#status.append(h('p', { class: 'candidate-view', role: 'status' }, text));
      this.#onCandidateView(view);
      return;
    }
    if (!isJury) return;
    const controls = h('div', { class: 'defence-controls' });
    if (state.phase === 'lobby') {
      controls.append(h('button', { type: 'button', onclick: () => void this.#act('admit', {}) }, t('defence.admit')));
    }
    const next = NEXT[state.phase];
    if (next) controls.append(h('button', { type: 'button', onclick: () => void this.#act('advance', { to: next }) }, t('defence.next', { phase: phaseName(next) })));
    this.#status.append(controls);
  }

  async #act(event: 'admit' | 'advance', extra: Record<string, unknown>): Promise<void> {
    try {
      await request(this.#socket, event, { sessionId: this.#sessionId, ...extra });
    } catch (err) {
      this.#status.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.disconnect();
  }
}
