/**
 * The jury's verdict in a defence (over the `/defence` namespace, see
 * defence.ts): in the verdict phase a jury member fills a form (pass or fail,
 * a mark from 0 to 20 per competence block, a comment) and proposes it; every
 * jury member sees the open proposal and confirms it; once everyone has
 * confirmed, the verdict is final and everyone (the candidate too) sees the
 * outcome: the diploma issued, or when a new defence is possible.
 *
 * The form keeps its element between `defenceState` broadcasts (presence
 * changes arrive often), so what a jury member types and where the focus is
 * survive them.
 */
import { clear, h, nextId } from './dom.ts';
import { t } from './i18n.ts';
import { errorText } from './ui.ts';

export interface Mark {
  block: string;
  mark: number;
}

export interface Verdict {
  id: string;
  outcome: 'pass' | 'fail';
  marks: Mark[];
  comment: string;
  proposedBy: string;
  status: 'proposed' | 'final';
  createdAt?: string;
  confirmedBy: string[];
}

/** A competence block of the path, when the defence state names them (see competenceBlocksOf). */
export interface CompetenceBlock {
  code: string;
  title?: string;
}

export interface VerdictState {
  sessionId: string;
  candidateId: string;
  phase: string;
  jury?: Array<{ userId: string; name: string }>;
  verdict?: Verdict | null;
  outcome?: 'pass' | 'fail' | null;
  retakeAllowedFrom?: string | null;
  diplomaId?: string | null;
  competenceBlocks?: unknown;
  blocks?: unknown;
}

export interface VerdictInput {
  outcome: 'pass' | 'fail';
  marks: Mark[];
  comment: string;
}

export interface VerdictOptions {
  /** The signed-in user's id. */
  me: string;
  propose(verdict: VerdictInput): Promise<unknown>;
  confirm(verdictId: string): Promise<unknown>;
  /** A date and time in the viewer's zone and language. */
  formatDateTime(iso: string): string;
  /** The reference of the candidate's diploma (optional: shown when known). */
  diplomaReference?(state: VerdictState): Promise<string | undefined>;
}

/**
 * The path's competence blocks, as the defence state carries them
 * (`competenceBlocks: [{ code, title }]`). A path with none defined leaves
 * the jury to name each block in the form.
 */
export function competenceBlocksOf(state: VerdictState): CompetenceBlock[] | undefined {
  const raw = state.competenceBlocks ?? state.blocks;
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const blocks: CompetenceBlock[] = [];
  for (const b of raw) {
    if (typeof b === 'string') blocks.push({ code: b });
    else if (b && typeof b === 'object' && typeof (b as { code?: unknown }).code === 'string') {
      const { code, title } = b as { code: string; title?: unknown };
      blocks.push(typeof title === 'string' ? { code, title } : { code });
    }
  }
  return blocks.length ? blocks : undefined;
}

/** A mark as typed: a number from 0 to 20 (a comma is accepted as the decimal separator). */
export function parseMark(text: string): number | undefined {
  const s = text.trim().replace(',', '.');
  if (!/^\d{1,2}(\.\d{1,2})?$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 0 && n <= 20 ? n : undefined;
}

/** Formats a mark in the viewer's language (15.5 → "15,5" in French). */
const formatMark = (n: number, locale: string) => new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(n);

interface Row {
  element: HTMLElement;
  code: HTMLInputElement | undefined;
  fixedCode: string | undefined;
  mark: HTMLInputElement;
}

export class VerdictArea {
  readonly element: HTMLElement;
  readonly #opts: VerdictOptions;
  readonly #proposalBox: HTMLElement;
  readonly #formBox: HTMLElement;
  readonly #outcomeBox: HTMLElement;
  #form: HTMLFormElement | undefined;
  #rows: Row[] = [];
  #rowList: HTMLElement | undefined;
  #addButton: HTMLButtonElement | undefined;
  #outcomeInputs: HTMLInputElement[] = [];
  #comment: HTMLTextAreaElement | undefined;
  #formError: HTMLElement | undefined;
  #formStatus: HTMLElement | undefined;
  #blocksKey = '';
  #proposalKey = '';
  #outcomeKey = '';
  #focusConfirmed = false;
  #state: VerdictState | undefined;

  constructor(options: VerdictOptions) {
    this.#opts = options;
    this.#outcomeBox = h('section', { class: 'verdict-outcome', id: 'verdict-outcome', hidden: true });
    this.#proposalBox = h('section', { class: 'verdict-proposal', id: 'verdict-proposal', hidden: true });
    this.#formBox = h('div', { class: 'verdict-form-box', hidden: true });
    this.element = h('div', { class: 'verdict', id: 'verdict' }, this.#outcomeBox, this.#proposalBox, this.#formBox);
  }

  /** Shows what this role sees of the state (role: 'jury' | 'candidate' | 'coordinator'). */
  update(state: VerdictState, role: string | undefined): void {
    this.#state = state;
    const staff = role === 'jury' || role === 'coordinator';
    const isJury = role === 'jury';
    this.#renderOutcome(state, role);
    const proposal = state.phase === 'verdict' && staff && state.verdict?.status === 'proposed' ? state.verdict : undefined;
    this.#renderProposal(state, proposal, isJury);
    if (state.phase === 'verdict' && isJury) this.#ensureForm(state);
    else this.#dropForm();
  }

  // ------------------------------------------------------------------ outcome

  #renderOutcome(state: VerdictState, role: string | undefined): void {
    const final = state.phase === 'completed' && state.outcome ? state.outcome : undefined;
    const key = final ? JSON.stringify([final, role, state.retakeAllowedFrom, state.diplomaId, state.verdict?.id]) : '';
    if (key === this.#outcomeKey) return;
    this.#outcomeKey = key;
    clear(this.#outcomeBox);
    this.#outcomeBox.hidden = !final;
    if (!final) return;
    const candidate = role === 'candidate' || role === 'student';
    const titleId = nextId('verdict-result');
    const message =
      final === 'pass'
        ? t(candidate ? 'verdict.result.passYou' : 'verdict.result.pass')
        : state.retakeAllowedFrom
          ? t(candidate ? 'verdict.result.failYou' : 'verdict.result.fail', { date: this.#opts.formatDateTime(state.retakeAllowedFrom) })
          : t(candidate ? 'verdict.result.failYouNoDate' : 'verdict.result.failNoDate');
    const reference = h('p', { class: 'diploma-reference', hidden: true });
    this.#outcomeBox.setAttribute('aria-labelledby', titleId);
    this.#outcomeBox.append(
      h('h3', { id: titleId }, t('verdict.result.title')),
      h('p', { class: `result ${final}`, 'data-outcome': final, role: 'status' }, message),
      reference,
    );
    const verdict = state.verdict?.status === 'final' ? state.verdict : undefined;
    if (verdict) this.#outcomeBox.append(this.#verdictDetails(verdict));
    if (final === 'pass' && this.#opts.diplomaReference) {
      void this.#opts.diplomaReference(state).then(
        (ref) => {
          if (!ref || this.#outcomeKey !== key) return;
          reference.textContent = t('verdict.result.diploma', { reference: ref });
          reference.hidden = false;
        },
        () => undefined,
      );
    }
  }

  #verdictDetails(verdict: Verdict): HTMLElement {
    const lang = document.documentElement.lang || 'en';
    const marksId = nextId('verdict-marks');
    return h(
      'div',
      { class: 'verdict-details' },
      h('p', { id: marksId, class: 'label' }, t('verdict.marks')),
      h(
        'ul',
        { class: 'marks', 'aria-labelledby': marksId },
        ...verdict.marks.map((m) => h('li', { 'data-block': m.block }, t('verdict.markOf', { block: m.block, mark: formatMark(m.mark, lang) }))),
      ),
      h('p', { class: 'label' }, t('verdict.comment')),
      h('p', { class: 'verdict-comment' }, verdict.comment),
    );
  }

  // ----------------------------------------------------------------- proposal

  #renderProposal(state: VerdictState, verdict: Verdict | undefined, isJury: boolean): void {
    const jury = state.jury ?? [];
    const key = verdict ? JSON.stringify([verdict, jury, isJury]) : '';
    if (key === this.#proposalKey) return;
    this.#proposalKey = key;
    const hadFocus = this.#proposalBox.contains(document.activeElement);
    clear(this.#proposalBox);
    this.#proposalBox.hidden = !verdict;
    if (!verdict) return;
    const nameOf = (id: string) => jury.find((j) => j.userId === id)?.name ?? '…';
    const titleId = nextId('verdict-proposal');
    this.#proposalBox.setAttribute('aria-labelledby', titleId);
    const confirmedNames = verdict.confirmedBy.map(nameOf);
    const mine = verdict.confirmedBy.includes(this.#opts.me);
    const lang = document.documentElement.lang || 'en';
    this.#proposalBox.append(
      h('h3', { id: titleId }, t('verdict.proposal.title')),
      h('p', { class: 'proposed-by' }, t('verdict.proposal.by', { name: nameOf(verdict.proposedBy) })),
      h(
        'p',
        { class: `proposal-outcome ${verdict.outcome}`, 'data-outcome': verdict.outcome },
        t('verdict.proposal.outcome', { outcome: t(verdict.outcome === 'pass' ? 'verdict.pass' : 'verdict.fail') }),
      ),
      this.#verdictDetails(verdict),
      h(
        'p',
        { class: 'confirmations', 'data-count': verdict.confirmedBy.length },
        t('verdict.proposal.confirmations', { count: verdict.confirmedBy.length, total: jury.length || verdict.confirmedBy.length }),
        confirmedNames.length ? ` — ${t('verdict.proposal.confirmedBy', { names: confirmedNames.join(', ') })}` : '',
      ),
    );
    if (!isJury) return;
    const actions = h('div', { class: 'verdict-actions' });
    let focusTarget: HTMLElement | undefined;
    if (mine) {
      const note = h('p', { class: 'confirmed-note', tabindex: -1 }, t('verdict.proposal.youConfirmed'));
      this.#proposalBox.append(note);
      if (this.#focusConfirmed) focusTarget = note;
    } else {
      const error = h('p', { class: 'error', role: 'alert', hidden: true });
      const confirm = h('button', { type: 'button', class: 'confirm-verdict' }, t('verdict.confirm'));
      confirm.addEventListener('click', () => {
        confirm.disabled = true;
        error.hidden = true;
        // The broadcast of the confirmation (it may come before the answer) re-renders this box: the focus goes to its note.
        this.#focusConfirmed = true;
        this.#opts.confirm(verdict.id).then(
          () => undefined,
          (err: unknown) => {
            this.#focusConfirmed = false;
            confirm.disabled = false;
            error.textContent = errorText(err);
            error.hidden = false;
            confirm.focus();
          },
        );
      });
      actions.append(confirm);
      this.#proposalBox.append(error);
      if (hadFocus) focusTarget = confirm;
    }
    const copy = h('button', { type: 'button', class: 'secondary copy-verdict' }, t('verdict.copy'));
    copy.addEventListener('click', () => {
      this.#fillForm(verdict);
      this.#outcomeInputs.find((i) => i.checked)?.focus();
    });
    actions.append(copy);
    this.#proposalBox.append(actions);
    if (focusTarget) {
      this.#focusConfirmed = false;
      focusTarget.focus();
    }
  }

  // --------------------------------------------------------------------- form

  #dropForm(): void {
    if (!this.#form) return;
    this.#form = undefined;
    this.#rows = [];
    this.#outcomeInputs = [];
    this.#blocksKey = '';
    clear(this.#formBox);
    this.#formBox.hidden = true;
  }

  #ensureForm(state: VerdictState): void {
    const blocks = competenceBlocksOf(state);
    const key = JSON.stringify(blocks ?? null);
    if (this.#form && key === this.#blocksKey) return;
    // The blocks became known (or changed): rebuild, keeping what was typed.
    const kept = this.#form ? this.#read() : undefined;
    this.#blocksKey = key;
    this.#buildForm(blocks, state);
    if (kept) this.#fillForm(kept, true);
  }

  #buildForm(blocks: CompetenceBlock[] | undefined, state: VerdictState): void {
    clear(this.#formBox);
    this.#formBox.hidden = false;
    this.#rows = [];
    const titleId = nextId('verdict-form');
    const group = nextId('verdict-outcome');
    this.#outcomeInputs = (['pass', 'fail'] as const).map((value) =>
      h('input', { type: 'radio', name: group, value, id: `${group}-${value}`, required: true }),
    );
    const outcome = h(
      'fieldset',
      { class: 'verdict-choice' },
      h('legend', {}, t('verdict.outcome')),
      ...this.#outcomeInputs.map((input) =>
        h('span', { class: 'choice' }, input, h('label', { for: input.id }, t(input.value === 'pass' ? 'verdict.pass' : 'verdict.fail'))),
      ),
    );
    const marksHelp = nextId('verdict-marks-help');
    this.#rowList = h('div', { class: 'mark-rows' });
    const marks = h(
      'fieldset',
      { class: 'verdict-marks', 'aria-describedby': marksHelp },
      h('legend', {}, t('verdict.marks')),
      h('p', { class: 'hint', id: marksHelp }, t(blocks ? 'verdict.marksHelp' : 'verdict.marksHelpFree')),
      this.#rowList,
    );
    if (blocks) {
      for (const b of blocks) this.#addRow(b);
      this.#addButton = undefined;
    } else {
      const add = h('button', { type: 'button', class: 'secondary add-block' }, t('verdict.addBlock'));
      add.addEventListener('click', () => this.#addRow(undefined, true));
      this.#addButton = add;
      marks.append(add);
      // Start from the blocks of an earlier proposal, if any (the same path's blocks).
      const earlier = state.verdict?.marks.map((m) => m.block) ?? [];
      if (earlier.length) for (const code of earlier) this.#addRow(undefined, false, code);
      else this.#addRow();
    }
    const commentId = nextId('verdict-comment');
    this.#comment = h('textarea', { id: commentId, name: 'comment', rows: 4, maxlength: 10000, required: true });
    this.#formError = h('p', { class: 'error', role: 'alert', id: nextId('verdict-error'), hidden: true });
    this.#formStatus = h('p', { class: 'form-status', role: 'status' });
    const submit = h('button', { type: 'submit', class: 'propose-verdict' }, t('verdict.propose'));
    const form = h(
      'form',
      { class: 'verdict-form', id: 'verdict-form', 'aria-labelledby': titleId, novalidate: true },
      h('h3', { id: titleId }, t('verdict.form.title')),
      h('p', { class: 'hint' }, t('verdict.form.help')),
      outcome,
      marks,
      h('div', { class: 'field' }, h('label', { for: commentId }, t('verdict.comment')), this.#comment),
      this.#formError,
      h('div', { class: 'verdict-actions' }, submit),
      this.#formStatus,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#submit(submit);
    });
    this.#form = form;
    this.#formBox.append(form);
  }

  #addRow(block?: CompetenceBlock, focus = false, code = ''): void {
    if (!this.#rowList) return;
    const n = this.#rows.length + 1;
    const markId = nextId('verdict-mark');
    const mark = h('input', {
      id: markId,
      name: 'mark',
      type: 'text',
      inputmode: 'decimal',
      autocomplete: 'off',
      required: true,
      size: 5,
      class: 'mark-input',
      'data-block': block?.code ?? null,
    });
    let codeInput: HTMLInputElement | undefined;
    const element = h('div', { class: 'mark-row' });
    if (block) {
      element.append(h('label', { for: markId }, t('verdict.markFor', { block: block.title ? `${block.code} — ${block.title}` : block.code })), mark);
    } else {
      const codeId = nextId('verdict-block');
      codeInput = h('input', { id: codeId, name: 'block', type: 'text', autocomplete: 'off', required: true, maxlength: 64, size: 8, class: 'block-input', value: code || null });
      const remove = h('button', { type: 'button', class: 'secondary remove-block' }, t('verdict.removeBlock'));
      element.append(
        h('span', { class: 'field' }, h('label', { for: codeId }, t('verdict.blockCode', { n })), codeInput),
        h('span', { class: 'field' }, h('label', { for: markId }, t('verdict.blockMark', { n })), mark),
        remove,
      );
      remove.addEventListener('click', () => this.#removeRow(row));
    }
    const row: Row = { element, code: codeInput, fixedCode: block?.code, mark };
    this.#rows.push(row);
    this.#rowList.append(element);
    this.#renumber();
    if (focus) (codeInput ?? mark).focus();
  }

  #removeRow(row: Row): void {
    const i = this.#rows.indexOf(row);
    if (i < 0 || this.#rows.length <= 1) return;
    this.#rows.splice(i, 1);
    row.element.remove();
    this.#renumber();
    const next = this.#rows[Math.min(i, this.#rows.length - 1)];
    (next?.code ?? this.#addButton)?.focus();
  }

  /** Labels say "Block 2: code": keep the numbers in order; one row cannot be removed. */
  #renumber(): void {
    this.#rows.forEach((row, i) => {
      if (!row.code) return;
      const labels = row.element.querySelectorAll('label');
      const codeLabel = labels[0];
      const markLabel = labels[1];
      if (codeLabel) codeLabel.textContent = t('verdict.blockCode', { n: i + 1 });
      if (markLabel) markLabel.textContent = t('verdict.blockMark', { n: i + 1 });
      const remove = row.element.querySelector<HTMLButtonElement>('.remove-block');
      if (remove) {
        remove.setAttribute('aria-label', t('verdict.removeBlockN', { n: i + 1 }));
        remove.hidden = this.#rows.length <= 1;
      }
    });
  }

  #read(): { outcome: 'pass' | 'fail' | undefined; marks: Array<{ block: string; mark: string }>; comment: string } {
    const checked = this.#outcomeInputs.find((i) => i.checked)?.value;
    return {
      outcome: checked === 'pass' || checked === 'fail' ? checked : undefined,
      marks: this.#rows.map((r) => ({ block: (r.fixedCode ?? r.code?.value ?? '').trim(), mark: r.mark.value })),
      comment: this.#comment?.value ?? '',
    };
  }

  /** Puts a verdict (a proposal, or what was typed before a rebuild) into the form. */
  #fillForm(v: { outcome?: 'pass' | 'fail' | undefined; marks: Array<{ block: string; mark: number | string }>; comment: string }, keepEmpty = false): void {
    if (!this.#form) return;
    for (const input of this.#outcomeInputs) input.checked = input.value === v.outcome;
    const lang = document.documentElement.lang || 'en';
    const text = (m: number | string) => (typeof m === 'number' ? formatMark(m, lang) : m);
    if (this.#addButton) {
      // Free blocks: one row per mark.
      for (const row of this.#rows) row.element.remove();
      this.#rows = [];
      const marks = v.marks.filter((m) => !keepEmpty || m.block || String(m.mark));
      if (marks.length === 0) this.#addRow();
      for (const m of marks) {
        this.#addRow(undefined, false, m.block);
        this.#rows[this.#rows.length - 1]!.mark.value = text(m.mark);
      }
    } else {
      for (const row of this.#rows) {
        const m = v.marks.find((x) => x.block === row.fixedCode);
        if (m) row.mark.value = text(m.mark);
      }
    }
    if (this.#comment) this.#comment.value = v.comment;
  }

  /** Checks the form; returns the verdict, or shows what is wrong and focuses the first such field. */
  #validate(): VerdictInput | undefined {
    const problems: Array<{ field: HTMLElement; message: string }> = [];
    if (this.#form) Array.from(this.#form.querySelectorAll('[aria-invalid]')).forEach((el) => el.removeAttribute('aria-invalid'));
    const read = this.#read();
    if (!read.outcome) problems.push({ field: this.#outcomeInputs[0]!, message: t('verdict.invalid.outcome') });
    const marks: Mark[] = [];
    const seen = new Set<string>();
    this.#rows.forEach((row, i) => {
      const block = read.marks[i]!.block;
      if (row.code && !block) problems.push({ field: row.code, message: t('verdict.invalid.block', { n: i + 1 }) });
      else if (row.code && seen.has(block)) problems.push({ field: row.code, message: t('verdict.invalid.duplicate', { block }) });
      seen.add(block);
      const mark = parseMark(row.mark.value);
      if (mark === undefined) problems.push({ field: row.mark, message: t('verdict.invalid.mark', { block: block || String(i + 1) }) });
      else marks.push({ block, mark });
    });
    const comment = read.comment.trim();
    if (!comment && this.#comment) problems.push({ field: this.#comment, message: t('verdict.invalid.comment') });
    if (problems.length) {
      for (const p of problems) p.field.setAttribute('aria-invalid', 'true');
      this.#showError(problems.map((p) => p.message).join(' '));
      problems[0]!.field.focus();
      return undefined;
    }
    return { outcome: read.outcome!, marks, comment };
  }

  #showError(message: string): void {
    if (!this.#formError) return;
    this.#formError.textContent = message;
    this.#formError.hidden = false;
    const described = this.#formError.id;
    this.#form?.setAttribute('aria-describedby', described);
  }

  async #submit(submit: HTMLButtonElement): Promise<void> {
    if (this.#formError) this.#formError.hidden = true;
    this.#form?.removeAttribute('aria-describedby');
    if (this.#formStatus) this.#formStatus.textContent = '';
    const verdict = this.#validate();
    if (!verdict) return;
    submit.disabled = true;
    try {
      await this.#opts.propose(verdict);
      if (this.#formStatus) this.#formStatus.textContent = t('verdict.proposed');
    } catch (err) {
      const code = (err as { code?: string }).code;
      this.#showError(code === 'marks_do_not_match_blocks' ? t('verdict.error.blocks') : code === 'not_verdict_phase' ? t('verdict.error.phase') : errorText(err));
      submit.focus();
    } finally {
      submit.disabled = false;
    }
  }

  /** The state last shown (for tests and debugging). */
  get state(): VerdictState | undefined {
    return this.#state;
  }
}
