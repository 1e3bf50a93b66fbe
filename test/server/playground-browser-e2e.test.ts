import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tinySafetyCheckerGraph, tinySafetyConcepts } from '../../scripts/tiny-models/safety-checker.js';
import { saveModel } from '../../src/onnx/model-file.js';
import { encodeSafetensors } from '../../src/weights/safetensors.js';
import { describeWithChromium, launchChromium, watchPage } from '../helpers/browser.js';
import { MODELS_DIR } from '../helpers/models.js';
import { startServerProcess } from '../helpers/server-process.js';

// Page-side callbacks run in the browser, where these exist (the project's types have no DOM).
declare const document: any;
declare const window: any;
declare const sessionStorage: any;
declare const localStorage: any;

const KEY = 'playground-test-key';
const FIXTURE = path.resolve('test/fixtures/astronaut.png');

/**
 * The built-in models (linked), plus what the Customise section offers: a kohya LoRA for tiny-sd15 (one UNet
 * attention projection and one text-encoder projection, rank 4) and a safety checker of tiny-sd15's own (the tiny
 * stand-in, with a threshold no image reaches), so tiny-sdxl has none. The built-in upscaler is tiny-x2.
 */
function customModels(dir: string): string {
  const models = path.join(dir, 'models');
  mkdirSync(models);
  for (const name of readdirSync(MODELS_DIR)) if (name !== 'tiny-sd15') symlinkSync(path.join(MODELS_DIR, name), path.join(models, name));
  const sd15 = path.join(models, 'tiny-sd15');
  mkdirSync(sd15);
  for (const name of readdirSync(path.join(MODELS_DIR, 'tiny-sd15'))) symlinkSync(path.join(MODELS_DIR, 'tiny-sd15', name), path.join(sd15, name));
  saveModel(tinySafetyCheckerGraph(), path.join(sd15, 'safety_checker', 'model.onnx'));
  writeFileSync(path.join(sd15, 'safety_checker', 'concepts.json'), JSON.stringify(tinySafetyConcepts([0, 0, 0, 1], 2)));
  const pair = (prefix: string, n: number, seed: number) => {
    const fill = (length: number, k: number) => Float32Array.from({ length }, (_, i) => Math.sin(seed + k * 31 + i) * 0.2);
    return {
      [`${prefix}.lora_down.weight`]: { dtype: 'F32' as const, shape: [4, n], data: fill(4 * n, 1) },
      [`${prefix}.lora_up.weight`]: { dtype: 'F32' as const, shape: [n, 4], data: fill(4 * n, 2) },
      [`${prefix}.alpha`]: { dtype: 'F32' as const, shape: [], data: Float32Array.of(4) },
    };
  };
  mkdirSync(path.join(models, 'lora'));
  writeFileSync(
    path.join(models, 'lora', 'test_style.safetensors'),
    encodeSafetensors({
      ...pair('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', 16, 1),
      ...pair('lora_te_text_model_encoder_layers_0_self_attn_q_proj', 32, 2),
    }),
  );
  return models;
}

describeWithChromium('the playground page in headless chromium, against a real server process', () => {
  let dir: string;
  let screenshots: string;
  let server: Awaited<ReturnType<typeof startServerProcess>>;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cn-playground-'));
    screenshots = path.join(dir, 'screenshots');
    mkdirSync(screenshots);
    const models = customModels(dir);
    [server, browser] = await Promise.all([
      startServerProcess({ MODELS_DIR: models, DATA_DIR: path.join(dir, 'data'), API_KEYS: KEY, SYNC_TIMEOUT_S: '120' }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.kill('SIGTERM');
    // The screenshots stay for people to look at; the job data and the models folder go.
    if (dir) for (const sub of ['data', 'models']) rmSync(path.join(dir, sub), { recursive: true, force: true });
    if (screenshots) console.info(`playground screenshots: ${screenshots}`);
  });

  async function open(viewport: { width: number; height: number; phone?: boolean }) {
    const page = await browser.newPage();
    await page.setViewport({
      width: viewport.width,
      height: viewport.height,
      isMobile: viewport.phone,
      hasTouch: viewport.phone,
      deviceScaleFactor: viewport.phone ? 2 : 1,
    });
    const problems = await watchPage(page);
    const response = await page.goto(`${server.base}/`, { waitUntil: 'load' });
    expect(response?.url()).toBe(`${server.base}/playground/`);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.waitForSelector('body[data-ready=true]');
    return { page, problems };
  }

  async function enterKey(page: Page, key: string) {
    await page.locator('input[name=key]').fill(key);
    await page.keyboard.press('Tab');
  }

  const fill = (page: Page, name: string, value: string) => page.locator(`[name="${name}"]`).fill(value);
  const text = (page: Page, selector: string) => page.$eval(selector, (el: any) => el.textContent as string);
  const visibleError = (page: Page, field: string) =>
    page
      .waitForFunction(
        (f: string) => {
          const el = document.querySelector(`[data-error-for="${f}"]`);
          return el && !el.hidden && el.textContent ? el.textContent : false;
        },
        { timeout: 30_000 },
        field,
      )
      .then((h) => h.jsonValue() as Promise<string>);

  async function waitDone(page: Page) {
    await page.waitForFunction(
      () => {
        const bar = document.getElementById('progress');
        return (bar.value === bar.max && /done in/.test(document.getElementById('progress-text').textContent)) || !document.getElementById('job-error').hidden;
      },
      { timeout: 90_000 },
    );
    expect(await page.$eval('#job-error', (el: any) => (el.hidden ? '' : el.textContent))).toBe('');
  }

  /** The output images as the page shows them: their natural sizes, once loaded. */
  const shownOutputs = (page: Page) =>
    page
      .waitForFunction(
        () => {
          const imgs = [...document.querySelectorAll('.outputs img')];
          return (
            imgs.length > 0 &&
            imgs.every((i: any) => i.complete && i.naturalWidth > 0) &&
            imgs.map((i: any) => ({ src: i.src, width: i.naturalWidth, height: i.naturalHeight }))
          );
        },
        { timeout: 30_000 },
      )
      .then((h) => h.jsonValue() as Promise<{ src: string; width: number; height: number }[]>);

  it('generates from an uploaded image with a hint preview, SSE progress to 100 %, meta and a working curl command', async () => {
    const { page, problems } = await open({ width: 1280, height: 900 });
    await enterKey(page, KEY);
    await page.waitForSelector('select[name=model_id] option[value="tiny-sd15"]');
    expect(await page.$$eval('select[name=model_id] option', (os: any[]) => os.map((o) => o.value))).toEqual(['tiny-sd15', 'tiny-sd15-fp16', 'tiny-sdxl']);
    expect(await page.$$eval('select[name=unit_model] option', (os: any[]) => os.map((o) => o.value))).toContain('canny');
    // The key lives in this tab's session storage, nowhere else.
    expect(await page.evaluate(() => [sessionStorage.getItem('controlnet-playground-key'), localStorage.length])).toEqual([KEY, 0]);

    await page.select('select[name=unit_model]', 'canny');
    expect(await page.$eval('select[name=unit_type]', (el: any) => el.value)).toBe('canny');
    const upload = await page.$('#file');
    await (upload as any).uploadFile(FIXTURE);
    await page.waitForFunction(() => /astronaut\.png, \d+×\d+/.test(document.getElementById('image-info').textContent));
    await fill(page, 'prompt', 'an astronaut on a red planet');
    await fill(page, 'width', '320');
    await fill(page, 'height', '256');
    await fill(page, 'num_inference_steps', '16');
    await fill(page, 'seed', '1234');
    await page.select('select[name=scheduler]', 'EulerAncestralDiscreteScheduler');

    // The hint preview is the detect endpoint's answer, at the requested size, beside the input.
    await page.click('#preview-hint');
    const hint = await page
      .waitForFunction(
        () => {
          const img = document.querySelector('.hints img');
          if (!img?.complete || img.naturalWidth === 0) return false;
          const canvas = document.createElement('canvas');
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
          const context = canvas.getContext('2d');
          context.drawImage(img, 0, 0);
          const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
          return { width: img.naturalWidth, height: img.naturalHeight, caption: img.nextSibling.textContent, rgba: Array.from(rgba) };
        },
        { timeout: 30_000 },
      )
      .then((h) => h.jsonValue() as Promise<{ width: number; height: number; caption: string; rgba: number[] }>);
    expect(hint).toMatchObject({ width: 320, height: 256, caption: 'canny hint' });
    const detect = await fetch(`${server.base}/api/v1/enterprise/controlnet/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        key: KEY,
        controlnet_type: 'canny',
        image: `data:image/png;base64,${readFileSync(FIXTURE).toString('base64')}`,
        width: 320,
        height: 256,
      }),
    });
    const expected = await sharp(Buffer.from(await detect.arrayBuffer()))
      .ensureAlpha()
      .raw()
      .toBuffer();
    expect(Buffer.from(hint.rgba).equals(expected)).toBe(true);

    await page.click('#generate');
    await waitDone(page);
    // Progress came over the job's Server-Sent Events, step by step, to the last one.
    expect(await text(page, '#progress-text')).toMatch(/^16\/16 steps, done in [\d.]+ s \(job \d+\)$/);
    expect(await page.$eval('#progress', (el: any) => [el.value, el.max])).toEqual([16, 16]);

    const outputs = await shownOutputs(page);
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toMatchObject({ width: 320, height: 256 });
    expect(outputs[0].src.startsWith(`${server.base}/generations/`)).toBe(true);
    const png = await sharp(Buffer.from(await (await fetch(outputs[0].src)).arrayBuffer())).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 320, 256]);

    const meta = Object.fromEntries(await page.$$eval('#meta dt', (dts: any[]) => dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    expect(meta).toMatchObject({ seed: '1234', W: '320', H: '256', steps: '16', scheduler: 'EulerAncestralDiscreteScheduler', model: 'tiny-sd15' });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(screenshots, 'desktop.png'), fullPage: true });

    // The curl command, run as printed from a folder holding the uploaded file, makes the same image.
    const curl = await text(page, '#curl');
    expect(curl).toContain(`$(base64 -w0 'astronaut.png')`);
    expect(curl).not.toContain('instant_response');
    const work = path.join(dir, 'curl');
    mkdirSync(work);
    copyFileSync(FIXTURE, path.join(work, 'astronaut.png'));
    const { stdout } = await promisify(execFile)('bash', ['-c', curl], { cwd: work, maxBuffer: 1 << 20 });
    const answer = JSON.parse(stdout);
    expect(answer).toMatchObject({ status: 'success', meta: { seed: 1234, W: 320, H: 256 } });
    const again = Buffer.from(await (await fetch(answer.output[0])).arrayBuffer());
    expect(again.equals(Buffer.from(await (await fetch(outputs[0].src)).arrayBuffer()))).toBe(true);

    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);

  it('customises from what get_all_models lists: a LoRA with its strength, upscale, the safety checker where installed', async () => {
    const { page, problems } = await open({ width: 1280, height: 900 });
    await enterKey(page, KEY);
    await page.waitForSelector('#loras input[value="test_style"]');
    expect(await page.$$eval('#loras input[type=checkbox]', (els: any[]) => els.map((e) => e.value))).toEqual(['test_style']);
    expect(await page.$eval('#loras-none', (el: any) => el.hidden)).toBe(true);
    // No embeddings installed: no control for them.
    expect(await page.$eval('#embeddings-field', (el: any) => el.hidden)).toBe(true);
    // The built-in tiny-x2 gives 2×, nothing gives 4×.
    expect(await page.$$eval('select[name=upscale] option', (os: any[]) => os.map((o) => [o.value, o.textContent]))).toEqual([
      ['no', 'no'],
      ['yes', 'yes: 2× (tiny-x2)'],
    ]);
    // tiny-sd15 has its own checker, tiny-sdxl none: the box follows the model, with a hint.
    const safety = () => page.$eval('input[name=safety_checker]', (el: any) => [el.disabled, document.getElementById('safety-hint').textContent]);
    expect((await safety())[0]).toBe(false);
    await page.select('select[name=model_id]', 'tiny-sdxl');
    expect(await safety()).toEqual([true, 'none installed for tiny-sdxl (models/safety_checker/ or models/tiny-sdxl/safety_checker/)']);
    await (await page.$('#customise'))!.screenshot({ path: path.join(screenshots, 'customise-no-checker.png') });
    await page.select('select[name=model_id]', 'tiny-sd15');
    expect((await safety())[0]).toBe(false);

    await page.select('select[name=unit_model]', 'canny');
    await ((await page.$('#file')) as any).uploadFile(FIXTURE);
    await page.waitForFunction(() => /astronaut\.png, \d+×\d+/.test(document.getElementById('image-info').textContent));
    for (const [name, value] of [
      ['width', '128'],
      ['height', '96'],
      ['num_inference_steps', '3'],
      ['seed', '42'],
    ])
      await fill(page, name!, value!);
    await page.click('#loras input[value="test_style"]');
    await page.click('input[name=safety_checker]');
    await page.select('select[name=upscale]', 'yes');

    // Out of the contract's range: the server's 400 shows at the LoRA list.
    await fill(page, 'lora_strength', '12');
    expect(await page.$eval('#loras input[type=range]', (el: any) => el.value)).toBe('2');
    await page.click('#generate');
    expect(await visibleError(page, 'lora_model')).toMatch(/^lora_strength: "12" is not a number within -10\.\.10/);
    await (await page.$('#customise'))!.screenshot({ path: path.join(screenshots, 'customise-error.png') });

    await fill(page, 'lora_strength', '0.8');
    expect(await page.$eval('#loras input[type=range]', (el: any) => el.value)).toBe('0.8');
    await page.click('#generate');
    await waitDone(page);
    const outputs = await shownOutputs(page);
    expect(outputs.map((o) => [o.width, o.height])).toEqual([[256, 192]]);
    const png = await sharp(Buffer.from(await (await fetch(outputs[0]!.src)).arrayBuffer())).metadata();
    expect([png.width, png.height]).toEqual([256, 192]);
    expect(await text(page, '#applied')).toBe('LoRA test_style × 0.8 · upscaled 2× to 256×192 (tiny-x2) · safety checker: nothing flagged');
    expect(await text(page, '.outputs figcaption')).toBe('#1 · 256×192 · safety checker: ok');
    const meta = Object.fromEntries(await page.$$eval('#meta dt', (dts: any[]) => dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    expect(meta).toMatchObject({ lora_model: 'test_style', lora_strength: '0.8', safety_checker: 'yes', nsfw_content_detected: '[false]', W: '128', H: '96' });
    expect(JSON.parse(meta.upscale!)).toMatchObject({ factor: 2, model: 'tiny-x2', W: 256, H: 192 });
    expect(await page.$$eval('#warnings li', (lis: any[]) => lis.map((li) => li.textContent))).toEqual([]);
    const curl = await text(page, '#curl');
    for (const pair of ['"lora_model":"test_style"', '"lora_strength":"0.8"', '"upscale":"yes"', '"safety_checker":"yes"']) expect(curl).toContain(pair);
    expect(curl).not.toContain('embeddings_model');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(screenshots, 'customise-desktop.png'), fullPage: true });

    // At a phone's width the section fits: nothing scrolls sideways.
    await page.setViewport({ width: 390, height: 844 });
    const layout = await page.evaluate(() => {
      document.getElementById('customise').scrollIntoView();
      return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth };
    });
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
    await page.screenshot({ path: path.join(screenshots, 'customise-phone.png') });
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    await page.close();
  }, 120_000);

  it("shows the server's errors next to the fields they name (a bad key, a bad width)", async () => {
    const { page, problems } = await open({ width: 1280, height: 900 });
    await enterKey(page, 'not-the-key');
    expect(await visibleError(page, 'key')).toMatch(/^key: .*invalid/i);
    expect(await page.$eval('input[name=key]', (el: any) => el.getAttribute('aria-invalid'))).toBe('true');

    // Generating with that key: refused, and said next to the key again.
    await page.click('#generate');
    expect(await visibleError(page, 'key')).toMatch(/^key: /);
    expect(await text(page, '#progress-text')).toBe('Refused.');

    await enterKey(page, KEY);
    await page.waitForSelector('select[name=model_id] option[value="tiny-sd15"]');
    expect(await page.$eval('[data-error-for=key]', (el: any) => el.hidden)).toBe(true);
    await fill(page, 'width', '100');
    await page.click('#generate');
    expect(await visibleError(page, 'width')).toMatch(/^width: must be an integer from 64 to 1024 and a multiple of 8, got "100"/);
    expect(await page.$eval('input[name=width]', (el: any) => el.getAttribute('aria-invalid'))).toBe('true');
    await page.screenshot({ path: path.join(screenshots, 'errors.png'), fullPage: true });
    // The only console lines are the browser's own notes on the 401 and 400 answers.
    expect(problems.filter((p) => !/status of 40[01]/.test(p))).toEqual([]);
    await page.close();
  }, 120_000);

  it('takes a dropped image and a mask (inpaint), or a URL that the server fetches (its errors shown at the image)', async () => {
    const { page, problems } = await open({ width: 1024, height: 800 });
    await enterKey(page, KEY);
    await page.waitForSelector('select[name=unit_model] option[value="inpaint"]');
    await page.evaluate((b64: string) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new window.DataTransfer();
      data.items.add(new window.File([bytes], 'dropped.png', { type: 'image/png' }));
      document.getElementById('drop').dispatchEvent(new window.DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, readFileSync(FIXTURE).toString('base64'));
    await page.waitForFunction(() => /^dropped\.png, \d+×\d+/.test(document.getElementById('image-info').textContent));
    expect(await page.$eval('#input-preview', (el: any) => [el.hidden, el.src.startsWith('data:image/png;base64,')])).toEqual([false, true]);

    // The inpaint ControlNet's hint needs a mask: without one the server says so; with one, the preview shows.
    await page.select('select[name=unit_model]', 'inpaint');
    expect(await page.$eval('select[name=unit_type]', (el: any) => el.value)).toBe('inpaint');
    await page.click('#preview-hint');
    expect(await visibleError(page, 'form')).toMatch(/inpaint.*mask/);
    const maskFile = path.join(dir, 'mask.png');
    await sharp({ create: { width: 256, height: 256, channels: 3, background: '#000' } })
      .composite([{ input: { create: { width: 96, height: 96, channels: 3, background: '#fff' } }, left: 80, top: 80 }])
      .png()
      .toFile(maskFile);
    await ((await page.$('#mask-file')) as any).uploadFile(maskFile);
    await page.waitForFunction(() => /^mask\.png, 256×256/.test(document.getElementById('mask-info').textContent));
    await page.click('#preview-hint');
    await page.waitForFunction(() => document.querySelector('.hints img')?.naturalWidth > 0, { timeout: 30_000 });
    expect(await page.$eval('[data-error-for=form]', (el: any) => el.hidden)).toBe(true);

    await fill(page, 'width', '256');
    await fill(page, 'height', '256');
    await fill(page, 'num_inference_steps', '4');
    await page.click('#generate');
    await waitDone(page);
    expect((await shownOutputs(page))[0]).toMatchObject({ width: 256, height: 256 });
    const meta = Object.fromEntries(await page.$$eval('#meta dt', (dts: any[]) => dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    expect(meta).toMatchObject({ mode: 'inpaint', mask_image: 'base64', controlnet_type: 'inpaint' });
    const curl = await text(page, '#curl');
    expect(curl).toContain(`"init_image":"data:image/png;base64,$(base64 -w0 'dropped.png')"`);
    expect(curl).toContain(`"mask_image":"data:image/png;base64,$(base64 -w0 'mask.png')"`);
    await page.screenshot({ path: path.join(screenshots, 'inpaint.png'), fullPage: true });

    // A URL replaces the dropped file; nothing listens on port 1, so the server says it cannot fetch it.
    await page.click('#mask-clear');
    await fill(page, 'image_url', 'http://127.0.0.1:1/photo.png');
    expect(await page.$eval('#input-preview', (el: any) => el.hidden)).toBe(true);
    await page.select('select[name=unit_type]', 'canny');
    await page.click('#preview-hint');
    expect(await visibleError(page, 'init_image')).toMatch(/^image: /);
    expect(await page.$$('.hints img')).toHaveLength(0);
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    await page.close();
  }, 120_000);

  it("works at a phone's width: a pasted image, the queue position while another job runs, no sideways scrolling", async () => {
    const { page, problems } = await open({ width: 390, height: 844, phone: true });
    await enterKey(page, KEY);
    await page.waitForSelector('select[name=unit_model] option[value="canny"]');
    await page.select('select[name=unit_model]', 'canny');
    const png = readFileSync(FIXTURE).toString('base64');
    await page.evaluate((b64: string) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new window.DataTransfer();
      data.items.add(new window.File([bytes], 'image.png', { type: 'image/png' }));
      document.querySelector('textarea[name=prompt]').dispatchEvent(new window.ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
    }, png);
    await page.waitForFunction(() => /^pasted\.png, \d+×\d+/.test(document.getElementById('image-info').textContent));
    await fill(page, 'width', '256');
    await fill(page, 'height', '256');
    await fill(page, 'num_inference_steps', '4');

    // Another client's long job holds the only inference thread: this one waits in the queue.
    const busy = await server.post('/api/v1/enterprise/controlnet', {
      key: KEY,
      controlnet_model: 'canny',
      auto_hint: 'yes',
      init_image: `data:image/png;base64,${png}`,
      width: 384,
      height: 384,
      num_inference_steps: 20,
      instant_response: 'yes',
    });
    expect(busy.json.status).toBe('processing');
    await page.click('#generate');
    await page.waitForFunction(() => /^Queued: \d+ ahead/.test(document.getElementById('progress-text').textContent), { timeout: 30_000 });
    await page.screenshot({ path: path.join(screenshots, 'phone-queued.png') });
    await waitDone(page);
    expect((await shownOutputs(page))[0]).toMatchObject({ width: 256, height: 256 });

    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      formBottom: document.getElementById('form').getBoundingClientRect().bottom,
      resultTop: document.getElementById('result').getBoundingClientRect().top,
    }));
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
    expect(layout.resultTop).toBeGreaterThan(layout.formBottom);
    await page.screenshot({ path: path.join(screenshots, 'phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
