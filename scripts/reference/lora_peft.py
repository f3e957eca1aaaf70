#!/usr/bin/env python3
"""The LoRA parity reference: peft on the tiny Llama fixture.

    python scripts/reference/lora_peft.py make OUT_DIR     # pin the reference (committed)
    python scripts/reference/lora_peft.py check ADAPTER    # load Lethe's exported adapter in peft

Lethe's export for `check`: LETHE_LORA_EXPORT=/tmp/lethe-adapter cargo test --release -p engine
--test lora the_export (the test writes the pinned adapter back out with `lora::save_peft`).

`make` seeds a peft LoRA (r 4, alpha 8, every projection, no dropout, init_lora_weights=False so
that B is not zero and the adapters change the output), saves it with `save_pretrained` to
OUT_DIR/adapter, and writes OUT_DIR/reference.safetensors:
  logits                      the adapted model's logits of forget row 0 of the objective goldens' batch
  loss                        NPO (beta 0.1, gamma 1, alpha 1, retain NLL; open-unlearning's
                              formula) on that batch, the reference being the same model with its
                              adapters disabled
  grad|<peft name>            d loss / d every lora_A / lora_B weight
`check` loads ADAPTER (written by Lethe's `lora::save_peft`) onto the fixture with
`PeftModel.from_pretrained` and prints the largest logit difference from OUT_DIR's pinned logits.

Needs torch, transformers, peft, safetensors (scripts/bench/torch-env.sh's venv plus peft).
"""
import json
import pathlib
import sys

import torch
import torch.nn.functional as F
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import save_file, load_file
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FIXTURE = SHARED / "fixtures" / "tiny-llama"
BATCH = SHARED / "goldens" / "objectives" / "batch.json"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def base():
    model = AutoModelForCausalLM.from_pretrained(FIXTURE, dtype=torch.float32)
    model.eval()
    return model


def padded(rows, key):
    ids = [r for r in rows["input_ids_unpadded"]]
    labels = [r for r in rows[key]]
    width = max(len(r) for r in ids)
    input_ids = torch.tensor([r + [0] * (width - len(r)) for r in ids])
    label_t = torch.tensor([r + [-100] * (width - len(r)) for r in labels])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in ids])
    return input_ids, label_t, mask


def summed_nll(model, input_ids, labels, mask):
    logits = model(input_ids=input_ids, attention_mask=mask).logits
    shift = logits[:, :-1, :]
    target = labels[:, 1:]
    loss = F.cross_entropy(shift.transpose(1, 2), target, ignore_index=-100, reduction="none")
    return loss.sum(dim=1)


def token_mean_nll(model, input_ids, labels, mask):
    logits = model(input_ids=input_ids, attention_mask=mask).logits
    return F.cross_entropy(
        logits[:, :-1, :].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100
    )


def make(out):
    out = pathlib.Path(out)
    torch.manual_seed(0)
    config = LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base(), config)
    model.save_pretrained(out / "adapter")
    batch = json.loads(BATCH.read_text())["batches"]
    forget = padded(batch["forget"], "labels_unpadded")
    retain = padded(batch["retain"], "labels_unpadded")
    row = torch.tensor([batch["forget"]["input_ids_unpadded"][0]])
    with torch.no_grad():
        logits = model(input_ids=row).logits[0]
    beta = 0.1
    with torch.no_grad(), model.disable_adapter():
        reference = summed_nll(model, *forget)
    current = summed_nll(model, *forget)
    neg_log_ratios = current - reference
    forget_loss = -F.logsigmoid(beta * neg_log_ratios).mean() * 2 / beta
    loss = forget_loss + token_mean_nll(model, *retain)
    loss.backward()
    tensors = {"logits": logits.contiguous(), "loss": loss.detach().reshape(1)}
    for name, param in model.named_parameters():
        if "lora_" in name:
            tensors[f"grad|{name}"] = param.grad.detach().contiguous()
    save_file(tensors, out / "reference.safetensors")
    print(f"loss {loss.item():.8f}; {len(tensors) - 2} adapter gradients; wrote {out}")


def check(adapter, out):
    reference = load_file(pathlib.Path(out) / "reference.safetensors")
    model = PeftModel.from_pretrained(base(), adapter)
    batch = json.loads(BATCH.read_text())["batches"]
    row = torch.tensor([batch["forget"]["input_ids_unpadded"][0]])
    with torch.no_grad():
        logits = model(input_ids=row).logits[0]
    diff = (logits - reference["logits"]).abs().max().item()
    print(json.dumps({"adapter": str(adapter), "max_abs_logit_diff": diff}))
    return diff


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"]:
        make(sys.argv[2])
    elif sys.argv[1:2] == ["check"]:
        out = sys.argv[3] if len(sys.argv) > 3 else ROOT / "engine/tests/fixtures/lora"
        sys.exit(0 if check(sys.argv[2], out) < 1e-5 else 1)
    else:
        sys.exit(__doc__)
