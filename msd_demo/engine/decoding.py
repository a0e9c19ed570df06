"""Target-only and speculative decoding as generators of Steps.

Invariant of both loops: the target's KV cache holds the prompt and every emitted token but the last one,
which is fed on the next forward pass. So one forward per step, and no token is ever computed twice.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from msd_demo.engine.drafters.base import Draft, Drafter, DraftRequest
from msd_demo.engine.events import Candidate, DraftToken, Step, Token
from msd_demo.engine.model_cache import CachedModel, TargetFeatures
from msd_demo.engine.sampling import SamplingConfig, choose, make_generator, probabilities
from msd_demo.engine.timing import stopwatch
from msd_demo.engine.tree import DraftShape, TreeConfig
from msd_demo.engine.tree_step import StepOutcome, dense_q, verify_tree_step
from msd_demo.engine.verify import Verdict, verify_greedy, verify_sampling
from msd_demo.errors import UserInputError
from msd_demo.inputs.media import Media
from msd_demo.limits import LIMITS
from msd_demo.loading.models import LoadedModel

TOP_CANDIDATES = 5  # how many of the target's candidates each step keeps for the step inspector


@dataclass(frozen=True)
class DecodeConfig:
    # Defaults within the limits, which an operator may set lower (MSD_MAX_NEW_TOKENS, MSD_MAX_GAMMA).
    max_new_tokens: int = field(default_factory=lambda: min(128, LIMITS.max_new_tokens))
    gamma: int = field(default_factory=lambda: min(4, LIMITS.max_gamma))
    sampling: SamplingConfig = SamplingConfig()
    tree: TreeConfig | None = None  # None: chains of gamma tokens
    dynamic_threshold: float = 0.0  # stop a draft once its best path's cumulative q falls below it (0: never)

    def __post_init__(self):
        if not 1 <= self.max_new_tokens <= LIMITS.max_new_tokens:
            raise UserInputError(f"max new tokens must be between 1 and {LIMITS.max_new_tokens}, got {self.max_new_tokens}.")
        if not 1 <= self.gamma <= LIMITS.max_gamma:
            raise UserInputError(f"gamma (draft length) must be between 1 and {LIMITS.max_gamma}, got {self.gamma}.")
        if not 0.0 <= self.dynamic_threshold < 1.0:
            raise UserInputError(f"the dynamic threshold must be in [0, 1), got {self.dynamic_threshold:g}.")

    def draft_shape(self, room: int) -> DraftShape:
        """What a drafter may propose when room more tokens can follow the draft's (a step adds one of its own)."""
        if self.tree is None:
            return DraftShape(1, min(self.gamma, room), min(self.gamma, room), self.dynamic_threshold)
        return DraftShape(self.tree.top_k, min(self.tree.depth, room), self.tree.nodes, self.dynamic_threshold)


@torch.inference_mode()
def target_only(target: LoadedModel, question: str, media: Media | None, config: DecodeConfig) -> Iterator[Step]:
    """Plain autoregressive decoding: one target forward per token."""
    run = _TargetRun(target, question, media, config)
    first = run.prefill()
    yield first
    token = first.emitted[0].token_id
    while not run.finished:
        with stopwatch(target.device) as timer:
            p = run.distributions([token])[0]
            token = choose(p, config.sampling, run.generator)
        emitted = run.emit([Token(token, target.piece(token), "target", float(p[token]))])
        yield Step(run.step_index, (), 0, emitted, 0.0, timer.seconds, target_top=run.top(p[None]))


@torch.inference_mode()
def speculative(
    target: LoadedModel, question: str, media: Media | None, drafter: Drafter, config: DecodeConfig
) -> Iterator[Step]:
    """Draft up to gamma tokens, verify them in one target forward, keep the accepted prefix."""
    run = _TargetRun(target, question, media, config, keep_features=drafter.uses_target_features)
    first = run.prefill()
    request = DraftRequest(question, media, run.prompt, target.vocab_size, config.sampling, run.prompt_features)
    with stopwatch(target.device) as draft_timer:
        drafter.begin(request)
    yield Step(0, (), 0, first.emitted, draft_timer.seconds, first.verify_seconds, True, first.target_top)
    kept_hidden = run.no_hidden()  # features of tokens verified since the last draft (draft heads only)
    while not run.finished:
        # 1. Draft: never more than can still be emitted (the step adds one target token after them).
        with stopwatch(target.device) as draft_timer:
            draft = drafter.propose(run.generated, config.draft_shape(run.remaining - 1), kept_hidden)
        # 2. Verify all drafts in one target forward; 3. keep the accepted path, drop the rest from the cache.
        with stopwatch(target.device) as verify_timer:
            if draft.parents is None:
                outcome = _verify_chain(run, draft)
            else:
                outcome = verify_tree_step(run.cache, run.generated[-1], draft, config.sampling, run.generator,
                                           run.keep_features, target.piece)
            kept_hidden = outcome.kept_hidden
        yield Step(
            run.step_index, outcome.drafted, len(outcome.path), run.emit(outcome.emitted), draft_timer.seconds,
            verify_timer.seconds, target_top=run.top(outcome.p), draft_passes=draft.passes, accepted_path=outcome.path,
        )


class _TargetRun:
    """The target's side of one generation: prompt, cache, emitted tokens and the stopping rule."""

    def __init__(self, target: LoadedModel, question: str, media: Media | None, config: DecodeConfig, keep_features=False):
        self.target = target
        self.config = config
        self.keep_features = keep_features  # hand the forwards' features to a draft head
        self.prompt_features: TargetFeatures | None = None
        self.prompt = target.prompt(question, media)
        self.cache = CachedModel(target.model)
        self.generator = make_generator(target.device, config.sampling.seed)
        self.generated: list[int] = []
        self.step_index = 0
        self.finished = False

    @property
    def remaining(self) -> int:
        return self.config.max_new_tokens - len(self.generated)

    def prefill(self) -> Step:
        with stopwatch(self.target.device) as timer:
            if self.keep_features:
                logits, self.prompt_features = self.cache.prefill_with_features(self.prompt.model_inputs)
            else:
                logits = self.cache.prefill(self.prompt.model_inputs)
            p = probabilities(logits, self.config.sampling)
            token = choose(p, self.config.sampling, self.generator)
        emitted = self.emit([Token(token, self.target.piece(token), "target", float(p[token]))])
        return Step(0, (), 0, emitted, 0.0, timer.seconds, True, self.top(p[None]))

    def distributions(self, token_ids: list[int]) -> torch.Tensor:
        return probabilities(self.cache.forward(token_ids), self.config.sampling)

    def distributions_and_features(self, token_ids: list[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.keep_features:
            return self.distributions(token_ids), None
        logits, hidden = self.cache.forward_with_features(token_ids)
        return probabilities(logits, self.config.sampling), hidden

    def no_hidden(self) -> torch.Tensor | None:
        """Zero rows of features: after the prefill, the first draft has nothing new to learn."""
        return self.prompt_features.hidden[:0] if self.keep_features else None

    def emit(self, tokens: list[Token]) -> tuple[Token, ...]:
        """Keep tokens up to the first EOS and within max_new_tokens; decide whether the run is over."""
        kept = []
        for token in tokens[: self.remaining]:
            kept.append(token)
            if token.token_id in self.target.eos_token_ids:
                self.finished = True
                break
        self.generated += [token.token_id for token in kept]
        self.finished = self.finished or self.remaining <= 0
        self.step_index += 1
        return tuple(kept)

    def top(self, p: torch.Tensor) -> tuple[tuple[Candidate, ...], ...]:
        """p: [S, V] -> the target's most likely tokens at each of the S positions."""
        values, ids = p.topk(min(TOP_CANDIDATES, p.shape[-1]), dim=-1)
        piece = self.target.piece
        return tuple(
            tuple(Candidate(i, piece(i), v) for i, v in zip(row_ids, row_values))
            for row_ids, row_values in zip(ids.tolist(), values.tolist())
        )


def _verify_chain(run: _TargetRun, draft: Draft) -> StepOutcome:
    """A chain: the forward is causal, and the rejected tail is cropped off the cache."""
    p, hidden = run.distributions_and_features(run.generated[-1:] + draft.token_ids)  # [k + 1, V], [k + 1, d]
    verdict = _verify(draft, p, run.config.sampling, run.generator)
    run.cache.rollback(len(draft.token_ids) - verdict.num_accepted)
    kept_hidden = hidden[: verdict.num_accepted + 1] if hidden is not None else None
    drafted, emitted = _fates(run.target, draft, verdict, p)
    return StepOutcome(drafted, emitted, tuple(range(verdict.num_accepted)), p, kept_hidden)


def _verify(draft: Draft, p: torch.Tensor, sampling: SamplingConfig, generator) -> Verdict:
    draft_ids = torch.tensor(draft.token_ids, device=p.device, dtype=torch.long)
    if sampling.greedy:
        return verify_greedy(draft_ids, p)
    return verify_sampling(draft_ids, dense_q(draft, draft_ids, p), p, generator)


def _fates(target: LoadedModel, draft: Draft, verdict: Verdict, p: torch.Tensor):
    """Each drafted token with its q, p and decision; the emitted tokens with their kinds."""
    n, k = verdict.num_accepted, len(draft.token_ids)
    q_values = draft.q[torch.arange(k), draft.token_ids].tolist() if draft.q is not None and k else [1.0] * k
    p_values = p[torch.arange(k), draft.token_ids].tolist() if k else []
    drafted = tuple(
        DraftToken(t, target.piece(t), q, pv, a, parent=i - 1)
        for i, (t, q, pv, a) in enumerate(zip(draft.token_ids, q_values, p_values, verdict.accept_probabilities))
    )
    emitted = [Token(t, target.piece(t), "accepted", pv) for t, pv in zip(draft.token_ids[:n], p_values[:n])]
    kind = "bonus" if n == k else "corrected"
    emitted.append(Token(verdict.next_token, target.piece(verdict.next_token), kind, float(p[n, verdict.next_token])))
    return drafted, emitted
