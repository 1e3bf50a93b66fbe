/**
 * The last few tensors of a multistep method (model outputs, derivatives), oldest dropped first.
 * Buffers are pooled: after the first run at a given size, pushing allocates nothing.
 */
export class History {
  private readonly items: Float32Array[] = [];
  private readonly pool: Float32Array[] = [];

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  /** The entry `back` steps before the newest (0: the newest). */
  at(back: number): Float32Array {
    const item = this.items[this.items.length - 1 - back];
    if (!item) throw new RangeError(`history holds ${this.items.length} entries, not ${back + 1}`);
    return item;
  }

  /** Makes room for a new newest entry of `numel` values and returns its buffer, for the caller to fill. */
  push(numel: number): Float32Array {
    let buffer = this.items.length === this.capacity ? this.items.shift()! : this.pool.pop();
    if (!buffer || buffer.length !== numel) buffer = new Float32Array(numel);
    this.items.push(buffer);
    return buffer;
  }

  /** Forgets every entry (their buffers go back to the pool). */
  clear(): void {
    this.pool.push(...this.items);
    this.items.length = 0;
  }
}
