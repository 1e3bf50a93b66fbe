/**
 * CLIP/GPT-2's reversible byte -> printable character map used by byte-level BPE: printable Latin-1 bytes map to
 * themselves, the others to U+0100 onwards. The order (printable bytes first) is also the order of the first 256
 * vocabulary ids.
 */
export function byteUnicodeOrder(): { byte: number; char: string }[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const order = printable.map((byte) => ({ byte, char: String.fromCharCode(byte) }));
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (!printable.includes(byte)) order.push({ byte, char: String.fromCharCode(256 + extra++) });
  }
  return order;
}

/** byte -> its character. */
export function byteToUnicodeTable(): string[] {
  const table = new Array<string>(256);
  for (const { byte, char } of byteUnicodeOrder()) table[byte] = char;
  return table;
}
