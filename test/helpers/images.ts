import sharp from 'sharp';

/** A deterministic RGB test picture: a gradient with a bright rectangle and a dark disc (clear edges). */
export function testPicture(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  const cx = width * 0.68;
  const cy = height * 0.6;
  const r = Math.min(width, height) * 0.18;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      let v = [40 + (100 * x) / width, 60 + (80 * y) / height, 90];
      if (x > width * 0.15 && x < width * 0.45 && y > height * 0.2 && y < height * 0.7) v = [230, 220, 200];
      if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) v = [20, 30, 25];
      data[o] = v[0];
      data[o + 1] = v[1];
      data[o + 2] = v[2];
    }
  }
  return data;
}

export async function testPng(width = 96, height = 96): Promise<Buffer> {
  return sharp(testPicture(width, height), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A mask PNG: white (repaint) in the right half, black elsewhere. */
export async function halfMaskPng(width = 96, height = 96): Promise<Buffer> {
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = width / 2; x < width; x++) data[y * width + x] = 255;
  return sharp(data, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}
