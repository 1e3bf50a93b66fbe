#!/usr/bin/env python3
"""diffusers 0.27.2's UniPCMultistepScheduler, which always ends at sigma_min (no `final_sigmas_type` before 0.28),
on the golden fake-model loop (test/fixtures/golden/README.md) -> test/fixtures/unipc-0.27.2-sigma-min.json.

    PYTHONPATH=/tmp/pyref/src /usr/bin/python3 scripts/reference/make-unipc-sigma-min.py

diffusers 0.27.2 sources on PYTHONPATH as for make-parity.py (test/fixtures/parity/README.md). The server follows
diffusers >= 0.28 (default "zero"); `final_sigmas_type: "sigma_min"` in the config must give these traces.
"""
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reference" / "standins"))

import diffusers  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from diffusers import UniPCMultistepScheduler  # noqa: E402

# Stable Diffusion 1.5's scheduler_config.json (as make-parity.py), with each prediction type.
SD15 = {
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
    "trained_betas": None,
}


def trace(prediction_type: str, karras: bool, steps: int):
    s = UniPCMultistepScheduler.from_config({**SD15, "prediction_type": prediction_type}, use_karras_sigmas=karras)
    s.set_timesteps(steps)
    j = np.arange(256)
    sample = torch.from_numpy(np.sin(0.37 * j).astype(np.float32)).reshape(1, 4, 8, 8) * float(s.init_noise_sigma)
    for t in s.timesteps:
        x_in = s.scale_model_input(sample, t)
        tf = float(t)
        eps = x_in * np.float32(0.3 * math.cos(tf / 200)) + np.float32(0.05 * math.sin(tf / 37))
        sample = s.step(eps, t, sample).prev_sample
    return {
        "prediction_type": prediction_type,
        "use_karras_sigmas": karras,
        "steps": steps,
        "timesteps": [float(t) for t in s.timesteps],
        "sigmas": s.sigmas.tolist(),
        "final_sample": sample.flatten().tolist(),
    }


def main() -> None:
    runs = [trace(p, k, n) for p in ("epsilon", "v_prediction") for k in (True, False) for n in (8, 30)]
    doc = {
        "versions": {"diffusers": diffusers.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "config": SD15,
        "runs": runs,
    }
    out = ROOT / "test" / "fixtures" / "unipc-0.27.2-sigma-min.json"
    out.write_text(json.dumps(doc) + "\n")


if __name__ == "__main__":
    main()
