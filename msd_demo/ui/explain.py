"""The "How it works" text: the algorithm in plain sentences, a small diagram, and the drafters' sources."""

from msd_demo.presets.catalog import DRAFTER_DESCRIPTIONS

STEPS = (
    "1. draft   the drafter proposes d1 … dγ, with q(d1) … q(dγ)",
    "2. verify  ONE target pass over [last, d1 … dγ] gives p at γ+1 positions",
    "3. accept  d_i is kept with probability min(1, p(d_i) / q(d_i))",
    "           (greedy: kept when d_i is the target's argmax)",
    "4. emit    the accepted prefix + one target token: the correction",
    "           ~ norm(max(0, p − q)) at the first rejection, or a bonus",
    "           token from p when all γ drafts were accepted",
    "5. crop    rejected drafts leave both KV caches; nothing is recomputed",
)


def _box(lines: tuple[str, ...]) -> str:
    width = max(len(line) for line in lines) + 2
    title = " one step (repeat until EOS or max new tokens) "
    top = "┌" + title.center(width, "─") + "┐"
    return "\n".join([top, *("│ " + line.ljust(width - 1) + "│" for line in lines), "└" + "─" * width + "┘"])


DIAGRAM = "prompt + image ──► target prefill (once) ──► KV cache, first token\n" + _box(STEPS) + "\n"


def how_it_works_markdown() -> str:
    drafters = "\n".join(f"| `{name}` | {description} |" for name, description in DRAFTER_DESCRIPTIONS.items())
    return f"""
**Speculative decoding** (Leviathan et al., 2023; Chen et al., 2023) makes a large *target* model produce
several tokens per forward pass. A cheap *drafter* guesses the next gamma tokens; the target checks all of
them in one forward pass, keeps the longest prefix it agrees with, and adds one token of its own. A forward
pass over a few tokens costs about as much as over one, so every accepted draft is a token gained.

The rule is **lossless**: a draft token is kept with probability min(1, p/q) and on rejection the target
samples from norm(max(0, p − q)), so the output follows the target's distribution p exactly. With
temperature 0 (greedy) the output is token for token the target's own, which the app checks live.

```
{DIAGRAM}```

Notation: **p** the target's distribution, **q** the drafter's, **gamma** the draft length, **alpha** =
accepted / judged drafts (a step judges its drafts up to and including the first rejection; the ones after it
are discarded unseen), the chance that one draft is accepted, **tau** = tokens emitted per target forward
pass (the bonus token included). With a drafter that costs c target passes per token, the expected speedup is
(1 − alpha^(gamma+1)) / ((1 − alpha)(gamma·c + 1)) — the last plot shows it for the alpha and c just
measured.

In a multimodal model the image or video becomes hundreds of visual tokens in the prompt; the drafter must
guess *visual* words (colours, shapes, positions) as well, which is where a drafter that cannot see fails.

**Draft heads** (`msd` and its ablations) run no model of their own. A single decoder layer reads the
target's own features, which the verification pass computes anyway, and the target's LM head turns its
guess of the next feature into q. MSD (Lin et al., 2025) adds two ideas, each with an ablation to compare:
visual tokens enter the head through a projection of their own, of the target's visual embeddings beside
its feature, while text tokens are fused with the target's features (*decoupling*), and the head learns
language from text first, then multimodal data mixed in ever more often (*two stages*).

| drafter | what drafts, and where it comes from |
|---|---|
{drafters}
"""
