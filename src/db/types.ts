/** Plain SQL with typed helpers: the one data-access style of the project. */
export interface Queryable {
  /** Rows of a parameterised statement ($1, $2, …). */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** The first row, or undefined. */
  one<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** Number of rows a statement changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs `fn` once what this Queryable wrote is committed: after COMMIT inside
   * `tx` (never, if it rolls back), at once outside one (each statement
   * commits by itself). For work that must not see uncommitted rows, e.g.
   * waking the outbox relay.
   */
  afterCommit(fn: () => void): void;
}

export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>, options?: { isolation?: Isolation }): Promise<T>;
  close(): Promise<void>;
}

/** Runs a committed transaction's afterCommit callbacks; one that throws does not stop the others (nor undo the commit). */
export function runCommitted(callbacks: ReadonlyArray<() => void>): void {
  for (const cb of callbacks) {
    try {
      cb();
    } catch (err) {
      console.error('[db] afterCommit callback failed', err);
    }
  }
}

/** SQLSTATE codes the domain reacts to (same on pg and PGlite). */
export const SqlState = {
  uniqueViolation: '23505',
  exclusionViolation: '23P01',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

export function sqlStateOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

export function constraintOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'constraint' in err) {
    const c = (err as { constraint: unknown }).constraint;
    return typeof c === 'string' ? c : undefined;
  }
  return undefined;
}
