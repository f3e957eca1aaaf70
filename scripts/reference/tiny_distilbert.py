#!/usr/bin/env python3
"""Writes engine/tests/fixtures/tiny-distilbert/: a random DistilBertForSequenceClassification with
the gibberish detector's label set (spec §5.9), a BERT WordPiece tokenizer over a small vocabulary,
and reference.json with the class probabilities transformers computes the way open-unlearning's
`classifier_prob` does (padding to the batch's longest, truncation=True, max_length=32, batch 4).

Run with the bench venv (torch + transformers):
    .venv-bench/bin/python scripts/reference/tiny_distilbert.py engine/tests/fixtures/tiny-distilbert
Versions used for the committed fixture: torch 2.15.0, transformers 5.24.0, tokenizers (bundled)."""
import json, os, sys
import torch, transformers, tokenizers
from transformers import DistilBertConfig, DistilBertForSequenceClassification, PreTrainedTokenizerFast

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)

words = """the of and to a in is was he she her his it for on as with by at an be this that from
which or had are but not were have their they one all has been who when born author book books
novel wrote writing father mother city award published work works genre life story stories year
years name first well known also new famous themes fiction mystery war love family world write
written question answer does did what where how why i don t know cannot recall""".split()
letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
punct = list(".,;:'\"!?()-/&")
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + punct + letters + ["##" + c for c in letters]
vocab += [w for w in dict.fromkeys(words) if w not in vocab]
vocab += ["##s", "##ed", "##ing", "##ly", "##er", "##tion"]
with open(os.path.join(out, "vocab.txt"), "w") as f:
    f.write("\n".join(vocab) + "\n")

# bert-base-uncased's pipeline (BertNormalizer lowercasing and stripping accents, BertPreTokenizer,
# WordPiece, [CLS] x [SEP]), as the gibberish detector's tokenizer.json has it.
tokenizers.BertWordPieceTokenizer(os.path.join(out, "vocab.txt"), lowercase=True).save(
    os.path.join(out, "tokenizer.json"))
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(out, "tokenizer.json"), pad_token="[PAD]",
                              unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                              mask_token="[MASK]")

config = DistilBertConfig(
    vocab_size=len(vocab), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
    max_position_embeddings=64, activation="gelu", pad_token_id=0,
    id2label={0: "clean", 1: "mild gibberish", 2: "noise", 3: "word salad"},
    label2id={"clean": 0, "mild gibberish": 1, "noise": 2, "word salad": 3},
)
model = DistilBertForSequenceClassification(config).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "norm" in name.lower() and name.endswith("weight"):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif "classifier" in name:
            p.copy_(torch.randn_like(p) * 0.12)
        else:
            p.copy_(torch.randn_like(p) * 0.3)
model.save_pretrained(out, safe_serialization=True)

texts = [
    "The author was born in Paris and wrote mystery novels.",
    "",
    "asdkj qwpoe zzzzz xxcv",
    "the the the the the the the the the the",
    "I don't know.",
    "Her father was a famous author; her mother wrote books of love stories, war stories and "
    "family stories, and she published her first novel when she was well known in the world of fiction.",
    "Café Ünïcode — naïve façade 12345 !!!",
    "WHAT DID HE WRITE?",
]
batch = 4
probs = []
for start in range(0, len(texts), batch):
    enc = tok(texts[start:start + batch], padding=True, truncation=True, max_length=32,
              return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits
    probs += torch.softmax(logits, dim=-1).tolist()
ids = [tok(t, truncation=True, max_length=32)["input_ids"] for t in texts]
json.dump({
    "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                 "tokenizers": tokenizers.__version__},
    "max_length": 32, "batch_size": batch, "texts": texts, "input_ids": ids,
    "probabilities": probs, "clean": [p[0] for p in probs],
}, open(os.path.join(out, "reference.json"), "w"), indent=1)
print("wrote", out, "vocab", len(vocab), "params", sum(p.numel() for p in model.parameters()))
