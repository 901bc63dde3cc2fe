"""The hf vision backend on a tiny randomly initialised Idefics3 (SmolVLM's architecture) built
here from a transformers config, with a BPE tokenizer trained here and a locally constructed
processor and chat template (no hub). The reference is transformers itself: the backend's
answer must equal a direct processor + generate call written out in the test."""

from __future__ import annotations

import base64
import http.server
import threading
from pathlib import Path
from typing import Any

import pytest

from pingce.backends.base import GenerationParams
from pingce.core.errors import DataError, ModelError

pytest.importorskip("transformers")
IMG, PATCH, SCALE = 64, 16, 2
SEQ = (IMG // PATCH) ** 2 // SCALE**2  # image tokens per image
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] | capitalize }}:{% if m['content'] is string %}"
    " {{ m['content'] }}{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}"
    "<image>{% elif c['type'] == 'text' %} {{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)


def build_tiny_idefics3(out: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3Processor,
        PreTrainedTokenizerFast,
    )

    try:
        from transformers import Idefics3ImageProcessorPil as ImageProcessor
    except ImportError:  # older transformers: the PIL processor is the default one
        from transformers import Idefics3ImageProcessor as ImageProcessor

    special = ["<|endoftext|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>", "<global-img>"]  # fmt: skip
    special += [f"<row_{i + 1}_col_{j + 1}>" for i in range(6) for j in range(6)]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["User: How many parcels are on the floor? Assistant: There are 3 parcels."] * 20
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<end_of_utterance>", pad_token="<|endoftext|>", bos_token="<|endoftext|>")  # fmt: skip
    image_processor = ImageProcessor(do_image_splitting=False, size={"longest_edge": IMG}, max_image_size={"longest_edge": IMG})  # fmt: skip
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=fast, image_seq_len=SEQ, chat_template=TEMPLATE)  # fmt: skip
    text = dict(model_type="llama", vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, pad_token_id=fast.pad_token_id, eos_token_id=fast.eos_token_id, bos_token_id=fast.bos_token_id)  # fmt: skip
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=IMG, patch_size=PATCH)  # fmt: skip
    config = Idefics3Config(text_config=text, vision_config=vision, scale_factor=SCALE, image_token_id=fast.convert_tokens_to_ids("<image>"))  # fmt: skip
    torch.manual_seed(0)
    Idefics3ForConditionalGeneration(config).eval().save_pretrained(out)
    processor.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_idefics3(tmp_path_factory.mktemp("vlm") / "tiny-idefics3")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("img")
    out = {}
    for name, colour in (("brown", (170, 120, 60)), ("blue", (30, 60, 160))):
        out[name] = folder / f"{name}.png"
        img = Image.new("RGB", (80, 60), colour)
        img.paste((255, 255, 255), (10, 10, 30, 30))
        img.save(out[name])
    return out


def test_answer_equals_a_direct_transformers_call(tiny: Path, images: dict[str, Path]) -> None:
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from pingce.backends.hf_vision import HFVisionLM, VisionRequest

    lm = HFVisionLM(tiny, device="cpu")
    params = GenerationParams(max_new_tokens=6)
    [gen] = lm.generate([VisionRequest("How many parcels?", (images["brown"],), params)])

    processor = AutoProcessor.from_pretrained(tiny, local_files_only=True)
    model = AutoModelForImageTextToText.from_pretrained(tiny, local_files_only=True).eval()
    prompt = "User:<image> How many parcels?<end_of_utterance>\nAssistant:"
    assert lm.prompt("How many parcels?", 1) == prompt
    batch = processor(text=[prompt], images=[[Image.open(images["brown"]).convert("RGB")]], return_tensors="pt")  # fmt: skip
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=6, do_sample=False)
    n_in = batch["input_ids"].shape[1]
    assert gen.text == processor.tokenizer.decode(out[0, n_in:], skip_special_tokens=True)
    assert gen.tokens_in == n_in and gen.tokens_out == out.shape[1] - n_in <= 6
    # the template's marker became the model's SEQ image tokens
    ids = lm.inputs(VisionRequest("q", (images["brown"],)))["input_ids"][0].tolist()
    assert ids.count(processor.tokenizer.convert_tokens_to_ids("<image>")) == SEQ


def test_the_image_reaches_the_model_and_every_source_form_agrees(tiny: Path, images: dict[str, Path]) -> None:  # fmt: skip
    import torch

    from pingce.backends.hf_vision import HFVisionLM, VisionRequest

    lm = HFVisionLM(tiny, device="cpu")
    raw = images["brown"].read_bytes()
    data_url = "data:image/png;base64," + base64.b64encode(raw).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/brown.png"
        pixel_sets = [lm.inputs(VisionRequest("q", (src,)))["pixel_values"] for src in (images["brown"], str(images["brown"]), raw, data_url, url)]  # fmt: skip
    finally:
        server.shutdown()
        thread.join(timeout=10)
    for pv in pixel_sets[1:]:
        assert torch.equal(pv, pixel_sets[0])

    def logits(path: Path) -> Any:
        batch = lm.inputs(VisionRequest("How many parcels?", (path,)))
        with torch.inference_mode():
            return lm.model(**batch).logits[0, -1]

    assert not torch.allclose(logits(images["brown"]), logits(images["blue"]))


def test_mistakes_are_one_line_errors(tiny: Path, tmp_path: Path) -> None:
    from pingce.backends.hf_vision import HFVisionLM, load_image

    with pytest.raises(ModelError, match="no config.json"):
        HFVisionLM(tmp_path / "missing")
    (tmp_path / "notimg.png").write_text("hello")
    with pytest.raises(DataError, match="not an image PIL can read"):
        load_image(tmp_path / "notimg.png")
    with pytest.raises(DataError, match="file not found"):
        load_image(str(tmp_path / "nope.png"))
    with pytest.raises(DataError, match="not valid base64"):
        load_image("data:image/png;base64,@@@")
