/**
 * Shared use of a worker's sessions (generations, hints, preloads, warm-ups) against their release
 * (clear_cache, delete_model): a release waits until no one uses the sessions, and uses that arrive
 * meanwhile wait for the release, so a running job never finds its session disposed.
 */
export class SessionGate {
  private users = 0;
  private releasing: Promise<void> | null = null;
  private idle: (() => void)[] = [];

  /** Runs `fn` while the sessions are in use (many at once); waits for a release in progress first. */
  async use<T>(fn: () => Promise<T>): Promise<T> {
    while (this.releasing) await this.releasing;
    this.users++;
    try {
      return await fn();
    } finally {
      this.users--;
      if (this.users === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** Runs `fn` alone: after every current use has finished, before any new one starts. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.releasing) await this.releasing;
    let done!: () => void;
    this.releasing = new Promise<void>((resolve) => (done = resolve));
    try {
      if (this.users > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      return await fn();
    } finally {
      this.releasing = null;
      done();
    }
  }

  /** How many uses are running (tests, diagnostics). */
  get active(): number {
    return this.users;
  }
}
