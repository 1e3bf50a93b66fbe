/** An 8-bit image with interleaved channels (HWC), the layout sharp's `.raw()` gives and takes. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** What an image field may be: fetch deadline, bytes, and decoded pixels (IMAGE_FETCH_TIMEOUT_MS, IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS). */
export interface ImageLimits {
  fetchTimeoutMs: number;
  maxBytes: number;
  maxPixels: number;
}
