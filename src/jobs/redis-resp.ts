/**
 * The Redis wire protocol (RESP2): commands out as arrays of bulk strings, replies in as a stream that
 * may arrive split anywhere. Error replies at the top level reject the command; inside an array (EXEC)
 * they stay in place as Error values, as every Redis client does.
 */
export type RedisArg = string | number | Buffer | Uint8Array;
export type RespValue = string | number | null | Buffer | Error | RespValue[];

const CRLF = Buffer.from('\r\n');

/** A command as the chunks to write: the small parts joined, large binary arguments passed through uncopied. */
export function encodeCommand(command: string, args: readonly RedisArg[]): Buffer[] {
  const chunks: Buffer[] = [];
  let head = `*${args.length + 1}\r\n$${Buffer.byteLength(command)}\r\n${command}\r\n`;
  for (const arg of args) {
    if (typeof arg === 'string' || typeof arg === 'number') {
      const text = String(arg);
      head += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
    } else {
      chunks.push(Buffer.from(`${head}$${arg.byteLength}\r\n`));
      chunks.push(Buffer.isBuffer(arg) ? arg : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength));
      head = '\r\n';
    }
  }
  chunks.push(head === '\r\n' ? CRLF : Buffer.from(head));
  return chunks;
}

/** Marks a reply that has not fully arrived yet. */
const INCOMPLETE = Symbol('incomplete');
type Parsed = RespValue | typeof INCOMPLETE;

/**
 * Incremental reply parser. Chunks are kept as they come and joined only when a parse is attempted;
 * a bulk string announces its length, so a large one (a PNG) is parsed once, when all of it is there.
 */
export class RespParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before another parse attempt can succeed. */
  private needed = 0;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete reply, or `undefined` when it has not all arrived. Bulk strings as Buffers when `asBuffers`. */
  next(asBuffers = false): RespValue | undefined {
    if (this.buffered === 0 || this.buffered < this.needed) return undefined;
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    this.buf = this.chunks[0];
    this.pos = 0;
    const value = this.read(asBuffers);
    if (value === INCOMPLETE) return undefined;
    this.needed = 0;
    this.buffered -= this.pos;
    this.chunks = this.buffered > 0 ? [this.buf.subarray(this.pos)] : [];
    this.buf = Buffer.alloc(0);
    return value;
  }

  private line(): number {
    const end = this.buf.indexOf(13, this.pos);
    if (end < 0 || end + 1 >= this.buf.length) {
      this.needed = this.buffered + 1;
      return -1;
    }
    return end;
  }

  private integer(from: number, end: number): number {
    const buf = this.buf;
    let k = from;
    const negative = buf[k] === 45; // '-'
    if (negative) k++;
    let n = 0;
    for (; k < end; k++) n = n * 10 + (buf[k] - 48);
    return negative ? -n : n;
  }

  private read(asBuffers: boolean): Parsed {
    const start = this.pos;
    const end = this.line();
    if (end < 0) return INCOMPLETE;
    const type = this.buf[start];
    this.pos = end + 2;
    switch (type) {
      case 43: // '+'
        return this.buf.toString('utf8', start + 1, end);
      case 45: // '-'
        return new Error(this.buf.toString('utf8', start + 1, end));
      case 58: // ':'
        return this.integer(start + 1, end);
      case 36: {
        // '$' bulk string
        const length = this.integer(start + 1, end);
        if (length < 0) return null;
        if (this.pos + length + 2 > this.buf.length) {
          this.needed = this.pos + length + 2;
          return INCOMPLETE;
        }
        const from = this.pos;
        this.pos += length + 2;
        return asBuffers ? this.buf.subarray(from, from + length) : this.buf.toString('utf8', from, from + length);
      }
      case 42: {
        // '*' array
        const count = this.integer(start + 1, end);
        if (count < 0) return null;
        const items: RespValue[] = new Array(count);
        for (let k = 0; k < count; k++) {
          const item = this.read(asBuffers);
          if (item === INCOMPLETE) return INCOMPLETE;
          items[k] = item;
        }
        return items;
      }
      default:
        throw new Error(`Redis protocol error: unexpected reply type byte ${type}`);
    }
  }
}
