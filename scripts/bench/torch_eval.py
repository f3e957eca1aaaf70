#!/usr/bin/env python3
"""PyTorch + transformers counterpart of `lethe eval` for the eval benchmark (bench-eval-vs-torch.sh):
the same work on the same rows, with open-unlearning's settings (spec §5): teacher-forced answer
losses in batches of 32 with right padding (answers, paraphrases, every perturbed option, holdout
answers), and greedy generation of up to 200 new tokens in batches of 32 with left padding, stopping
at EOS. Template: "Question: {q}\\nAnswer: " + answer + EOS (Lethe's question-answer template).

Usage: torch_eval.py --model HF_DIR --data SPLIT_DIR [--split forget01] [--batch 32]
                     [--new-tokens 200] [--threads 2]
Prints one JSON object: total/forward/generation seconds, forward and generated token counts,
and the generations (to check that both sides produced the same text)."""
import argparse, json, resource, time, torch
from transformers import AutoModelForCausalLM, AutoTokenizer

def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True); ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="forget01"); ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=200); ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(); torch.set_num_threads(a.threads)
    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation="sdpa").eval()
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    eos = tok.eos_token_id
    load_s = time.perf_counter() - start

    def losses(pairs):
        out, tokens = [], 0
        for i in range(0, len(pairs), a.batch):
            ids, labels = [], []
            for q, ans in pairs[i:i + a.batch]:
                prompt = f"Question: {q}\nAnswer: "
                p = tok(prompt, add_special_tokens=True)["input_ids"]
                full = tok(prompt + ans, add_special_tokens=True)["input_ids"][:512]
                if full[-1] != eos: full = full + [eos]
                ids.append(full); labels.append([-100] * len(p) + full[len(p):])
            L = max(map(len, ids))
            att = torch.tensor([[1] * len(x) + [0] * (L - len(x)) for x in ids])
            x = torch.tensor([s + [pad] * (L - len(s)) for s in ids])
            y = torch.tensor([s + [-100] * (L - len(s)) for s in labels])
            with torch.no_grad():
                logits = model(input_ids=x, attention_mask=att).logits[:, :-1].float()
            tgt = y[:, 1:]; mask = tgt != -100
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tgt.clamp(min=0), reduction="none")
            out += ((nll * mask).sum(-1) / mask.sum(-1)).tolist(); tokens += int(att.sum())
        return out, tokens

    def generate(questions):
        tok.padding_side = "left"
        if tok.pad_token is None: tok.pad_token = tok.eos_token
        texts, tokens = [], 0
        for i in range(0, len(questions), a.batch):
            prompts = [f"Question: {q}\nAnswer: " for q in questions[i:i + a.batch]]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=True)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=a.new_tokens, do_sample=False,
                                     pad_token_id=pad, eos_token_id=eos)
            for row in out[:, enc["input_ids"].shape[1]:].tolist():
                n = row.index(eos) + 1 if eos in row else len(row)
                tokens += n
                texts.append(tok.decode(row[:n], skip_special_tokens=True).strip())
        return texts, tokens

    n = a.split.removeprefix("forget")
    splits = [("forget", f"forget{n}_perturbed"), ("retain", "retain_perturbed"),
              ("ra", "real_authors_perturbed"), ("wf", "world_facts_perturbed")]
    fwd_s = gen_s = 0.0; fwd_tokens = gen_tokens = 0; generations = {}
    for prefix, split in splits:
        data = rows(f"{a.data}/{split}.jsonl")
        t = time.perf_counter()
        sets = [[(r["question"], r["answer"]) for r in data]]
        if prefix in ("forget", "retain"):
            sets.append([(r["question"], r.get("paraphrased_answer", r["answer"])) for r in data])
        sets.append([(r["question"], p) for r in data for p in r["perturbed_answer"]])
        if prefix == "forget":
            sets.append([(r["question"], r["answer"]) for r in rows(f"{a.data}/holdout{n}.jsonl")])
        for pairs in sets:
            fwd_tokens += losses(pairs)[1]
        fwd_s += time.perf_counter() - t
        t = time.perf_counter()
        texts, count = generate([r["question"] for r in data])
        gen_s += time.perf_counter() - t; gen_tokens += count; generations[prefix] = texts
    print(json.dumps({"load_seconds": load_s, "total_seconds": time.perf_counter() - start,
                      "forward_seconds": fwd_s, "forward_tokens": fwd_tokens,
                      "generation_seconds": gen_s, "generated_tokens": gen_tokens,
                      "generation_tokens_per_s": gen_tokens / gen_s, "generations": generations,
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))

if __name__ == "__main__":
    main()
