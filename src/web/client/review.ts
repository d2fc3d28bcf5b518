/**
 * The code review panel: documents shared in the session (a file or a pasted
 * diff) with syntax highlighting, and threaded, resolvable line comments in
 * real time over the `/review` namespace. Keyboard: every line number is a
 * button ("Comment on line n"); Ctrl+Enter sends a comment.
 */
import type { Socket } from 'socket.io-client';
import { getBlob } from './api.ts';
import { clear, h, nextId } from './dom.ts';
import { highlightLines, languageOf } from './highlight.ts';
import { t } from './i18n.ts';
import { connect, request } from './signal.ts';
import { codeText, errorText } from './ui.ts';

// The review's shapes come from the server's own definitions (type-only: nothing of the server is bundled).
import type { ReviewComment, ReviewDocument } from '../../codereview/service.ts';
export type { ReviewComment, ReviewDocument };

const MAX_FILE_BYTES = 512 * 1024;

/** How a diff line is shown: file headers, hunk headers, added and removed lines. */
function diffClass(line: string): string {
  if (line.startsWith('+++ ') || line.startsWith('--- ') || line.startsWith('diff ') || line.startsWith('index ')) return ' meta';
  if (line.startsWith('@@')) return ' hunk';
  if (line.startsWith('+')) return ' add';
  if (line.startsWith('-')) return ' del';
  return '';
}

const offsetText = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

export class ReviewPanel {
  readonly element: HTMLElement;
  readonly #sessionId: string;
  readonly #formatTime: (iso: string) => string;
  readonly #announce: (text: string) => void;
  readonly #socket: Socket;
  #documents = new Map<string, ReviewDocument>();
  #comments = new Map<string, ReviewComment>();
  #currentId: string | undefined;
  #tabs: HTMLElement;
  #view: HTMLElement;
  #error: HTMLElement;
  #closed = false;

  constructor(sessionId: string, options: { formatTime: (iso: string) => string; announce: (text: string) => void }) {
    this.#sessionId = sessionId;
    this.#formatTime = options.formatTime;
    this.#announce = options.announce;
    const titleId = nextId('review-title');
    this.#tabs = h('div', { class: 'review-tabs', role: 'tablist', 'aria-label': t('review.documents') });
    this.#view = h('div', { class: 'review-view' }, h('p', { class: 'muted' }, t('review.none')));
    this.#error = h('p', { class: 'error', role: 'alert', hidden: true });
    this.element = h(
      'section',
      { class: 'review-panel', id: 'review-panel', 'aria-labelledby': titleId },
      h(
        'div',
        { class: 'review-head' },
        h('h2', { id: titleId }, t('review.title')),
        h('button', { type: 'button', class: 'secondary', id: 'review-export', onclick: () => void this.#export() }, t('review.export')),
      ),
      this.#shareControls(),
      this.#error,
      this.#tabs,
      this.#view,
    );
    this.#socket = connect('/review');
    this.#socket.on('connect', () => void this.#open());
    // Refused for good (a socket cap, a revoked login): say so in the person's language; Socket.IO retries the rest by itself.
    this.#socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (!this.#socket.active && !this.#closed) this.#showError(t('review.unavailable'), codeText(err.data?.code ?? 'rooms_unavailable'));
    });
    this.#socket.on('documentAdded', ({ document }: { document: ReviewDocument }) => this.#addDocument(document, false));
    this.#socket.on('commentAdded', ({ comment }: { comment: ReviewComment }) => this.#upsertComment(comment, true));
    this.#socket.on('threadUpdated', ({ comment }: { comment: ReviewComment }) => this.#upsertComment(comment, false));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.disconnect();
  }

  /** (Re)opens the review after each (re)connection: the full state, so nothing missed while away. */
  async #open(): Promise<void> {
    try {
      const review = await request<{ documents: ReviewDocument[]; comments: ReviewComment[] }>(this.#socket, 'open', { sessionId: this.#sessionId });
      this.#error.hidden = true;
      this.#documents.clear();
      this.#comments.clear();
      for (const c of review.comments) this.#comments.set(c.id, c);
      for (const d of review.documents) this.#documents.set(d.id, d);
      this.#renderTabs();
      const current = this.#currentId && this.#documents.has(this.#currentId) ? this.#currentId : review.documents[review.documents.length - 1]?.id;
      if (current) this.#select(current, false);
    } catch (err) {
      this.#showError(t('review.unavailable'), errorText(err));
    }
  }

  /** Each sentence its own text node: a change of language re-labels them in place (i18n.ts relabel). */
  #showError(...sentences: string[]): void {
    this.#error.replaceChildren(...sentences.flatMap((text, i) => (i ? [' ', text] : [text])));
    this.#error.hidden = false;
  }

  #shareControls(): HTMLElement {
    const fileId = nextId('review-file');
    const fileInput = h('input', { type: 'file', id: fileId, class: 'visually-hidden', accept: '.js,.mjs,.cjs,.jsx,.ts,.tsx,.py,.rb,.go,.java,.php,.cs,.c,.h,.cpp,.css,.scss,.html,.xml,.json,.md,.sh,.sql,.yml,.yaml,.diff,.patch,.txt,text/*' });
    fileInput.addEventListener('change', () => {
      const file = fileInput.files?.[0];
      fileInput.value = '';
      if (file) void this.#shareFile(file);
    });
    const nameId = nextId('diff-name');
    const diffId = nextId('diff-text');
    const name = h('input', { id: nameId, name: 'name', required: true, maxlength: 200, value: 'changes.diff' });
    const text = h('textarea', { id: diffId, name: 'diff', required: true, rows: 8, spellcheck: 'false', class: 'mono' });
    const details = h('details', { class: 'paste-diff' });
    const form = h(
      'form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.share({ kind: 'diff', name: name.value, content: text.value }).then((ok) => {
            if (ok) {
              text.value = '';
              details.open = false;
            }
          });
        },
      },
      h('label', { for: nameId }, t('review.name')),
      name,
      h('label', { for: diffId }, t('review.diff')),
      text,
      h('button', { type: 'submit' }, t('review.share')),
    );
    details.append(h('summary', {}, t('review.pasteDiff')), form);
    return h(
      'div',
      { class: 'review-share' },
      h('label', { for: fileId, class: 'button secondary', tabindex: 0, role: 'button', onkeydown: (e: Event) => {
        const key = (e as KeyboardEvent).key;
        if (key === 'Enter' || key === ' ') {
          e.preventDefault();
          fileInput.click();
        }
      } }, t('review.openFile')),
      fileInput,
      details,
    );
  }

  async #shareFile(file: File): Promise<void> {
    if (file.size > MAX_FILE_BYTES) {
      this.#showError(t('apiError.document_too_large'));
      return;
    }
    const isDiff = /\.(diff|patch)$/i.test(file.name);
    await this.share({ kind: isDiff ? 'diff' : 'file', name: file.name, content: await file.text() });
  }

  /** Shares a document with the session (used by the file picker, the diff form and tests). */
  async share(doc: { kind: 'file' | 'diff'; name: string; content: string; language?: string }): Promise<boolean> {
    try {
      const language = doc.language ?? (doc.kind === 'diff' ? 'diff' : languageOf(doc.name));
      const added = await request<ReviewDocument>(this.#socket, 'addDocument', {
        sessionId: this.#sessionId,
        kind: doc.kind,
        name: doc.name,
        content: doc.content,
        ...(language ? { language } : {}),
      });
      this.#addDocument(added, true);
      this.#error.hidden = true;
      return true;
    } catch (err) {
      this.#showError(errorText(err));
      return false;
    }
  }

  #addDocument(doc: ReviewDocument, select: boolean): void {
    const known = this.#documents.has(doc.id);
    this.#documents.set(doc.id, doc);
    if (!known) this.#renderTabs();
    if (select || !this.#currentId) this.#select(doc.id, select);
    if (!known && !select) this.#announce(`${t('review.title')}: ${doc.name} — ${doc.authorName}`);
  }

  #renderTabs(): void {
    clear(this.#tabs);
    for (const doc of this.#documents.values()) {
      const selected = doc.id === this.#currentId;
      this.#tabs.append(
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            id: `tab-${doc.id}`,
            'aria-selected': selected ? 'true' : 'false',
            'aria-controls': 'review-code',
            tabindex: selected ? 0 : -1,
            onclick: () => this.#select(doc.id, true),
            onkeydown: (e: Event) => this.#tabKeys(e as KeyboardEvent, doc.id),
          },
          doc.name,
        ),
      );
    }
  }

  #tabKeys(e: KeyboardEvent, id: string): void {
    const ids = [...this.#documents.keys()];
    const i = ids.indexOf(id);
    const next = e.key === 'ArrowRight' ? ids[(i + 1) % ids.length] : e.key === 'ArrowLeft' ? ids[(i - 1 + ids.length) % ids.length] : undefined;
    if (next) {
      e.preventDefault();
      this.#select(next, true);
      document.getElementById(`tab-${next}`)?.focus();
    }
  }

  #select(id: string, focusTab: boolean): void {
    this.#currentId = id;
    this.#renderTabs();
    if (focusTab) document.getElementById(`tab-${id}`)?.focus();
    this.#renderDocument();
  }

  #renderDocument(): void {
    const doc = this.#currentId ? this.#documents.get(this.#currentId) : undefined;
    clear(this.#view);
    if (!doc) {
      this.#view.append(h('p', { class: 'muted' }, t('review.none')));
      return;
    }
    const code = h('div', {
      class: `code hljs${doc.kind === 'diff' ? ' diff' : ''}`,
      id: 'review-code',
      role: 'tabpanel',
      'aria-labelledby': `tab-${doc.id}`,
      'data-document-id': doc.id,
    });
    const lines = highlightLines(doc.content, doc.language);
    while (lines.length < doc.lineCount) lines.push('');
    const rawLines = doc.content.split(/\r\n?|\n/);
    lines.forEach((html, i) => {
      const n = i + 1;
      const src = h('code', { class: 'src' });
      src.innerHTML = html || ' '; // highlight.js output: escaped code and its own spans only
      const raw = rawLines[i] ?? '';
      const cls = doc.kind === 'diff' ? diffClass(raw) : '';
      code.append(
        h(
          'div',
          { class: `row${cls}`, 'data-line': n },
          h('button', { type: 'button', class: 'ln', 'aria-label': t('review.commentOn', { n }), title: t('review.commentOn', { n }), onclick: () => this.#openCommentForm(n) }, n),
          h('pre', {}, src),
        ),
        h('div', { class: 'line-threads', 'data-line': n }),
      );
    });
    this.#view.append(code);
    const roots = [...this.#comments.values()].filter((c) => c.documentId === doc.id && c.parentId === null);
    for (const root of roots) this.#renderThread(root.id);
  }

  #threadsOf(line: number): HTMLElement | null {
    return this.#view.querySelector<HTMLElement>(`.line-threads[data-line="${line}"]`);
  }

  #openCommentForm(line: number): void {
    const container = this.#threadsOf(line);
    if (!container) return;
    const existing = container.querySelector<HTMLTextAreaElement>('form.new-comment textarea');
    if (existing) {
      existing.focus();
      return;
    }
    const id = nextId('comment');
    const textarea = h('textarea', { id, name: 'body', rows: 3, required: true, maxlength: 5000, 'aria-describedby': `${id}-hint` });
    const form = h(
      'form',
      { class: 'new-comment', 'data-line': line },
      h('label', { for: id }, t('review.commentLabel', { n: line })),
      textarea,
      h('span', { id: `${id}-hint`, class: 'hint' }, t('review.sendHint')),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit' }, t('review.comment')),
        h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, t('review.cancel')),
      ),
    );
    const submit = async () => {
      const body = textarea.value.trim();
      if (!body || !this.#currentId) return;
      try {
        const comment = await request<ReviewComment>(this.#socket, 'addComment', { sessionId: this.#sessionId, documentId: this.#currentId, line, body });
        form.remove();
        this.#upsertComment(comment, false);
        this.#view.querySelector<HTMLButtonElement>(`.row[data-line="${line}"] .ln`)?.focus();
      } catch (err) {
        this.#showError(errorText(err));
      }
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void submit();
    });
    textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        void submit();
      } else if (e.key === 'Escape') {
        form.remove();
      }
    });
    container.append(form);
    textarea.focus();
  }

  #upsertComment(comment: ReviewComment, announce: boolean): void {
    const known = this.#comments.has(comment.id);
    this.#comments.set(comment.id, comment);
    if (comment.documentId === this.#currentId) this.#renderThread(comment.parentId ?? comment.id);
    if (announce && !known) this.#announce(`${comment.authorName}: ${comment.body}`);
  }

  /** Renders (or refreshes) one thread without touching a reply being typed. */
  #renderThread(rootId: string): void {
    const root = this.#comments.get(rootId);
    if (!root) return;
    const container = this.#threadsOf(root.line);
    if (!container) return;
    let thread = container.querySelector<HTMLElement>(`.thread[data-thread="${rootId}"]`);
    if (!thread) {
      thread = this.#newThread(root);
      const form = container.querySelector('form.new-comment');
      container.insertBefore(thread, form);
    }
    thread.classList.toggle('resolved', !!root.resolvedAt);
    const status = thread.querySelector<HTMLElement>('.status')!;
    status.textContent = root.resolvedAt ? t('review.resolved') : t('review.open');
    const toggle = thread.querySelector<HTMLButtonElement>('button.resolve')!;
    toggle.textContent = root.resolvedAt ? t('review.reopen') : t('review.resolve');
    const list = thread.querySelector<HTMLElement>('ol.comments')!;
    clear(list);
    const items = [...this.#comments.values()].filter((c) => c.id === rootId || c.parentId === rootId).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const c of items) {
      list.append(
        h(
          'li',
          { class: 'comment', 'data-comment-id': c.id },
          h(
            'div',
            { class: 'meta' },
            h('strong', {}, c.authorName),
            ' · ',
            h('time', { datetime: c.createdAt }, this.#formatTime(c.createdAt)),
            c.recordingOffsetMs !== null ? ` · ${t('review.atRecording', { offset: offsetText(c.recordingOffsetMs) })}` : '',
          ),
          h('p', { class: 'comment-body' }, c.body),
        ),
      );
    }
  }

  #newThread(root: ReviewComment): HTMLElement {
    const rootId = root.id;
    const replyId = nextId('reply');
    const textarea = h('textarea', { id: replyId, name: 'body', rows: 2, required: true, maxlength: 5000 });
    const send = async () => {
      const body = textarea.value.trim();
      if (!body) return;
      try {
        const comment = await request<ReviewComment>(this.#socket, 'addComment', { sessionId: this.#sessionId, documentId: root.documentId, parentId: rootId, body });
        textarea.value = '';
        this.#upsertComment(comment, false);
      } catch (err) {
        this.#showError(errorText(err));
      }
    };
    textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        void send();
      }
    });
    const toggle = async () => {
      const current = this.#comments.get(rootId);
      try {
        const updated = await request<ReviewComment>(this.#socket, 'resolveThread', { sessionId: this.#sessionId, commentId: rootId, resolved: !current?.resolvedAt });
        this.#upsertComment(updated, false);
      } catch (err) {
        this.#showError(errorText(err));
      }
    };
    return h(
      'div',
      { class: 'thread', 'data-thread': rootId, role: 'group', 'aria-label': t('review.thread', { n: root.line }) },
      h('div', { class: 'thread-head' }, h('span', { class: 'status' }), h('button', { type: 'button', class: 'secondary resolve', onclick: () => void toggle() })),
      h('ol', { class: 'comments' }),
      h(
        'form',
        {
          class: 'reply',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void send();
          },
        },
        h('label', { for: replyId, class: 'visually-hidden' }, t('review.replyLabel')),
        textarea,
        h('button', { type: 'submit', class: 'secondary' }, t('review.reply')),
      ),
    );
  }

  async #export(): Promise<void> {
    try {
      const blob = await getBlob(`/sessions/${this.#sessionId}/review.md`);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `review-${this.#sessionId}.md` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      this.#showError(errorText(err));
    }
  }
}
