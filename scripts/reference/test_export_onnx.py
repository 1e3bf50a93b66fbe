#!/usr/bin/env python3
"""Unit tests of scripts/export_onnx.py's topology logic (configs of real SD 1.5 / SDXL models, no weights) and of
its text encoder wrapper on the transformers stand-in.

    PYTHONPATH=/tmp/pyref/src /usr/bin/python3 -m unittest scripts/reference/test_export_onnx.py
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reference" / "standins"))

import torch  # noqa: E402

_spec = importlib.util.spec_from_file_location("export_onnx", ROOT / "scripts" / "export_onnx.py")
export_onnx = importlib.util.module_from_spec(_spec)
sys.modules["export_onnx"] = export_onnx
_spec.loader.exec_module(export_onnx)

# The fields that matter of runwayml/stable-diffusion-v1-5's and stabilityai/stable-diffusion-xl-base-1.0's
# unet/config.json and vae/config.json.
SD15_UNET = {"block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "addition_embed_type": None}
SDXL_UNET = {
    "block_out_channels": [320, 640, 1280],
    "layers_per_block": 2,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}
SD_VAE = {"block_out_channels": [128, 256, 512, 512]}


class TopologyTest(unittest.TestCase):
    def test_sd15_has_12_plus_1_residuals(self):
        names = export_onnx.residual_names(SD15_UNET)
        self.assertEqual(len(names), 13)
        self.assertEqual(names[-1], "mid_block_res")
        shapes = export_onnx.residual_shapes(SD15_UNET, 2, 64, 64)
        self.assertEqual(shapes[0], (2, 320, 64, 64))
        self.assertEqual(shapes[11], (2, 1280, 8, 8))
        self.assertEqual(shapes[12], (2, 1280, 8, 8))

    def test_sdxl_has_9_plus_1_residuals_and_text_time_inputs(self):
        names = export_onnx.residual_names(SDXL_UNET)
        self.assertEqual(len(names), 10)
        shapes = export_onnx.residual_shapes(SDXL_UNET, 1, 128, 128)
        self.assertEqual(shapes[8], (1, 1280, 32, 32))
        self.assertEqual(shapes[9], (1, 1280, 32, 32))
        self.assertTrue(export_onnx.is_text_time(SDXL_UNET))
        self.assertFalse(export_onnx.is_text_time(SD15_UNET))
        self.assertEqual(export_onnx.added_condition_sizes(SDXL_UNET), (1280, 6))
        self.assertEqual(export_onnx._added_names(SDXL_UNET), ["text_embeds", "time_ids"])

    def test_vae_factor(self):
        self.assertEqual(export_onnx.vae_factor(SD_VAE), 8)
        self.assertEqual(export_onnx.vae_factor({"block_out_channels": [4, 8]}), 2)

    def test_local_sources_are_recorded_by_name_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertEqual(export_onnx._source_label(tmp), Path(tmp).name)
        self.assertEqual(export_onnx._source_label("stabilityai/stable-diffusion-xl-base-1.0"),
                         "stabilityai/stable-diffusion-xl-base-1.0")


class TextEncoderTest(unittest.TestCase):
    def _config(self):
        from transformers import CLIPTextConfig

        return CLIPTextConfig(hidden_size=16, intermediate_size=24, num_hidden_layers=3, num_attention_heads=2,
                              vocab_size=100, projection_dim=8, eos_token_id=2, hidden_act="gelu")

    def test_with_projection_outputs_text_embeds_first(self):
        from transformers import CLIPTextModelWithProjection

        torch.manual_seed(0)
        model = CLIPTextModelWithProjection(self._config()).eval()
        component = export_onnx.text_encoder_component(model, "text_encoder_2")
        self.assertEqual(component.name, "text_encoder_2")
        self.assertEqual(component.output_names[:3], ["text_embeds", "last_hidden_state", "hidden_states.0"])
        self.assertEqual(component.output_names[-1], "normed_hidden_states.3")
        ids = torch.randint(0, 99, (2, 77))
        ids[:, 5] = 99  # the largest id is the EOS position (legacy eos_token_id 2)
        outs = export_onnx.torch_outputs(component, [ids])
        ref = model(ids, output_hidden_states=True)
        torch.testing.assert_close(outs[0], ref.text_embeds)
        torch.testing.assert_close(outs[0], model.text_projection(ref.last_hidden_state[:, 5]))
        torch.testing.assert_close(outs[2 + 2], ref.hidden_states[-2])  # hidden_states.2, SDXL's layer

    def test_plain_encoder_outputs_pooler_output(self):
        from transformers import CLIPTextModel

        model = CLIPTextModel(self._config()).eval()
        component = export_onnx.text_encoder_component(model)
        self.assertEqual(component.output_names[:2], ["last_hidden_state", "pooler_output"])


class WeightNamesTest(unittest.TestCase):
    def test_renamed_transposed_weights_are_mapped_to_their_modules(self):
        import onnx
        from onnx import numpy_helper

        class Block(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.to_q = torch.nn.Linear(6, 5, bias=False)
                self.to_k = torch.nn.Linear(6, 5, bias=False)
                self.conv = torch.nn.Conv2d(3, 4, 3)

            def forward(self, x, img):
                return self.to_q(x) + self.to_k(x), self.conv(img)

        torch.manual_seed(0)
        module = Block().eval()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.onnx"
            torch.onnx.export(module, (torch.randn(2, 6), torch.randn(1, 3, 8, 8)), str(path), opset_version=17)
            model = onnx.load(str(path))
            names = export_onnx.weight_name_map(module, model)
            inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        for layer in ("to_q", "to_k"):
            stored = inits[names[f"{layer}.weight"]]
            self.assertTrue(torch.equal(torch.from_numpy(stored.copy()).t(), getattr(module, layer).weight.detach()))
        # The conv weight keeps its name, so it needs no entry.
        self.assertNotIn("conv.weight", names)


class SafetyCheckerTest(unittest.TestCase):
    """The stand-in's CLIPVisionModel under diffusers' StableDiffusionSafetyChecker: save/load round trip, the
    exported component's I/O, and concepts.json's fields."""

    def test_round_trip_and_component(self):
        from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
        from transformers import CLIPConfig

        torch.manual_seed(0)
        config = CLIPConfig(
            vision_config=dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2),
            projection_dim=4,
        )
        checker = StableDiffusionSafetyChecker(config).eval()
        with tempfile.TemporaryDirectory() as tmp:
            checker.save_pretrained(tmp)
            loaded = export_onnx.load_safety_checker(tmp)
        for (name, a), (_, b) in zip(checker.state_dict().items(), loaded.state_dict().items()):
            self.assertTrue(torch.equal(a, b), name)
        component = export_onnx.safety_checker_component(loaded)
        (x,) = component.make_inputs(2, 0, 0, 0)
        self.assertEqual(tuple(x.shape), (2, 3, 224, 224))
        (embeds,) = export_onnx.torch_outputs(component, (x,))
        self.assertEqual(tuple(embeds.shape), (2, 4))
        concepts = export_onnx.safety_concepts(loaded)
        self.assertEqual(len(concepts["concept_embeds"]), 17)
        self.assertEqual(len(concepts["special_care_embeds_weights"]), 3)


if __name__ == "__main__":
    unittest.main()
