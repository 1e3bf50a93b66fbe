/**
 * Stage: a decoded image → whether diffusers' StableDiffusionSafetyChecker flags it (src/safety/), with the
 * session's time counted as `safety_checker`.
 */
import type { RawImage } from '../../image/types.js';
import { checkImages, type SafetyCheckerSignature } from '../../safety/checker.js';
import type { Loaded } from '../model-sessions.js';
import type { SessionRunner } from '../session-runner.js';

export async function safetyCheck(checker: Loaded<SafetyCheckerSignature>, conceptsPath: string, image: RawImage, runner: SessionRunner): Promise<boolean> {
  const [verdict] = await checkImages(checker.session, checker.signature, conceptsPath, [image], (feeds) =>
    runner.run('safety_checker', checker.session, feeds),
  );
  return verdict!.nsfw;
}
