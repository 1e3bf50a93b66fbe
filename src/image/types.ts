/** An 8-bit image with interleaved channels (HWC), the layout sharp's `.raw()` gives and takes. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}
