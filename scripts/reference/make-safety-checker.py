#!/usr/bin/env python3
"""Reference values for the server's safety checker (src/safety/): a seeded tiny diffusers
StableDiffusionSafetyChecker (CLIP vision tower of the transformers stand-in), exported with
scripts/export_onnx.py --safety-checker, and diffusers 0.27.2's own verdicts on a few images.

    PYTHONPATH=/tmp/pyref/src /usr/bin/python3 scripts/reference/make-safety-checker.py

(diffusers 0.27.2 and huggingface_hub 0.25.2 sources on PYTHONPATH, as for make-parity.py.) Writes
test/fixtures/safety-checker/{safety_checker/model.onnx, safety_checker/concepts.json, expected.json, images/}:
for each image (PNG fixtures of test/fixtures/ and generated ones, saved to images/) the CLIPImageProcessor steps of transformers
4.38 (shortest side to 224 with PIL BICUBIC, long side int(224 * long / short), center crop 224 with
top = (h - 224) // 2, rescale uint8 * (1/255) to float32, normalise with CLIP's mean/std in float32) as a SHA-256
of the 224x224 crop, the sum and a few values of clip_input; the torch image_embeds; the cosines; and
`has_nsfw_concept` from StableDiffusionSafetyChecker.forward itself. Thresholds are chosen from the cosines so that
some images are flagged, some not, and one only through the special-care adjustment of 0.01.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "scripts" / "reference" / "standins"
sys.path.insert(0, str(STANDINS))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker, cosine_distance  # noqa: E402
from transformers import CLIPConfig  # noqa: E402

OUT = ROOT / "test" / "fixtures" / "safety-checker"
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
I0 = 6  # gradient-317x200
SAMPLES = [(0, 0, 0), (1, 100, 37), (2, 223, 223), (0, 112, 5), (1, 7, 200), (2, 50, 150)]


def clip_image_processor(image: Image.Image, size: int = 224):
    """transformers 4.38 CLIPImageProcessor.preprocess on one RGB PIL image, step by step."""
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    rw, rh = (size, new_long) if w <= h else (new_long, size)
    resized = np.array(image.resize((rw, rh), resample=Image.BICUBIC))
    top, left = (rh - size) // 2, (rw - size) // 2
    crop = resized[top : top + size, left : left + size]
    x = (crop.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return crop, x.transpose(2, 0, 1).copy()


def images():
    found = []
    for name in ("astronaut.png", "coffee-451x300.png", "rocket-600x400.png", "coffee.png", "rocket.png"):
        found.append((name, Image.open(ROOT / "test" / "fixtures" / name).convert("RGB")))
    rng = np.random.default_rng(5)
    found.append(("noise-96x130", Image.fromarray(rng.integers(0, 256, (130, 96, 3), dtype=np.uint8))))
    yy, xx = np.mgrid[0:200, 0:317]
    grad = np.stack([xx * 255 // 316, yy * 255 // 199, (xx + yy) * 255 // 515], axis=-1).astype(np.uint8)
    found.append(("gradient-317x200", Image.fromarray(grad)))
    found.append(("red-64x64", Image.new("RGB", (64, 64), (220, 30, 30))))
    return found


def main() -> int:
    torch.manual_seed(1234)
    config = CLIPConfig(
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=224, patch_size=32),
        text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2),
        projection_dim=8,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        checker.concept_embeds.copy_(torch.randn(17, 8))
        checker.special_care_embeds.copy_(torch.randn(3, 8))

    cases = []
    (OUT / "images").mkdir(parents=True, exist_ok=True)
    for name, image in images():
        if not name.endswith(".png"):
            name = f"{name}.png"
            image.save(OUT / "images" / name)
        crop, x = clip_image_processor(image)
        cases.append({"name": name, "crop": crop, "clip_input": torch.from_numpy(x)[None]})
    clip_input = torch.cat([c["clip_input"] for c in cases])
    with torch.no_grad():
        embeds = checker.visual_projection(checker.vision_model(clip_input)[1])
        special = cosine_distance(embeds, checker.special_care_embeds).float().numpy()
        concept = cosine_distance(embeds, checker.concept_embeds).float().numpy()

    # Thresholds: special-care 0 and concept 1 are image I0's own embedding: the special score fires for it alone
    # (threshold 0.998), and concept 1 (threshold 1.005: 1 − 1.005 < 0) fires only through the 0.01 adjustment.
    # Concept 0 sits between the two middle cosines (some flagged, some not); the others never fire.
    with torch.no_grad():
        checker.special_care_embeds[0] = embeds[I0]
        checker.concept_embeds[1] = embeds[I0]
        special = cosine_distance(embeds, checker.special_care_embeds).float().numpy()
        concept = cosine_distance(embeds, checker.concept_embeds).float().numpy()
        others = np.delete(special[:, 0], I0)
        assert others.max() < 0.997, f"images too alike for the tiny model: {others.max()}"
        sw = torch.ones(3)
        sw[0] = 0.998
        cw = torch.ones(17)
        middle = np.sort(concept[:, 0])[len(cases) // 2 - 1 : len(cases) // 2 + 1]
        cw[0] = float(middle.mean())
        cw[1] = 1.005
        checker.special_care_embeds_weights.copy_(sw)
        checker.concept_embeds_weights.copy_(cw)
        _, has_nsfw = checker(clip_input, np.zeros((len(cases), 8, 8, 3)))

    with tempfile.TemporaryDirectory() as tmp:
        checker.save_pretrained(Path(tmp) / "checker")
        spec = importlib.util.spec_from_file_location("export_onnx", ROOT / "scripts" / "export_onnx.py")
        export_onnx = importlib.util.module_from_spec(spec)
        sys.modules["export_onnx"] = export_onnx
        spec.loader.exec_module(export_onnx)
        code = export_onnx.main(["--safety-checker", str(Path(tmp) / "checker"), "--out", str(Path(tmp) / "out"), "--device", "cpu", "--no-validate"])
        if code != 0:
            return code
        target = OUT / "safety_checker"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(tmp) / "out" / "safety_checker", target)

    expected = {
        "about": "scripts/reference/make-safety-checker.py: diffusers 0.27.2 StableDiffusionSafetyChecker (tiny, seeded) on the transformers stand-in",
        "mean": MEAN,
        "std": STD,
        "cases": [
            {
                "name": c["name"],
                "image": c["name"] if (ROOT / "test" / "fixtures" / c["name"]).exists() else f"safety-checker/images/{c['name']}",
                "crop_sha256": hashlib.sha256(c["crop"].tobytes()).hexdigest(),
                "clip_input_sum": float(c["clip_input"].double().sum()),
                "clip_input_samples": [[ch, y, xx, float(c["clip_input"][0, ch, y, xx])] for ch, y, xx in SAMPLES],
                "image_embeds": embeds[k].tolist(),
                "special_cos": special[k].tolist(),
                "concept_cos": concept[k].tolist(),
                "has_nsfw_concept": bool(has_nsfw[k]),
            }
            for k, c in enumerate(cases)
        ],
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print("has_nsfw_concept:", [bool(v) for v in has_nsfw])
    return 0


if __name__ == "__main__":
    sys.exit(main())
