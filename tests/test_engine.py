"""Greedy speculative decoding is token-for-token target-only decoding, for every drafter and architecture."""

import pytest

from msd_demo.engine import DecodeConfig, SamplingConfig, speculative, target_only
from msd_demo.engine.drafters import HeadDrafter, ModelDrafter, PromptLookupDrafter
from msd_demo.errors import UserInputError
from msd_demo.inputs.media import Media
from msd_demo.measure.metrics import Comparison, collect
from tests.tiny_models import random_head, sample_images

QUESTION = "Describe the picture in detail."
IMAGE = Media(tuple(sample_images()[:1]), "image", "image.png")
VIDEO = Media(tuple(sample_images()), "video", "video.mp4")  # frames of different sizes on purpose
DRAFTERS = ("model", "text-only", "prompt-lookup", "msd", "msd-no-decoupling")


def run_both(target, drafter, media, config):
    reference = collect(target_only(target, QUESTION, media, config))
    return reference, collect(speculative(target, QUESTION, media, drafter, config))


def lineups(llava_lineup, qwen2vl, tiles_lineup=None):
    """(target, {drafter name: drafter}) for the LLaVA and the Qwen2-VL families (and LLaVA-NeXT, when given)."""
    llava = {name: llava_lineup.drafter(name) for name in DRAFTERS}
    qwen = {
        "model": ModelDrafter("model", qwen2vl["draft"]),
        "text-only": ModelDrafter("text-only", qwen2vl["text"]),
        "prompt-lookup": PromptLookupDrafter(),
        "msd": HeadDrafter("msd", random_head(qwen2vl["target"].model), qwen2vl["target"]),
        "msd-no-decoupling": HeadDrafter("msd-no-decoupling", random_head(qwen2vl["target"].model, False), qwen2vl["target"]),
    }
    families = {"llava": (llava_lineup.target, llava), "qwen2vl": (qwen2vl["target"], qwen)}
    if tiles_lineup is not None:
        families["llava-next"] = (tiles_lineup.target, {name: tiles_lineup.drafter(name) for name in DRAFTERS})
    return families


@pytest.mark.parametrize("family", ["llava", "qwen2vl", "llava-next"])
@pytest.mark.parametrize("drafter_name", DRAFTERS)
@pytest.mark.parametrize("media", [IMAGE, VIDEO], ids=["image", "video"])
@pytest.mark.sweep
def test_greedy_speculative_equals_target_only(llava_lineup, qwen2vl, tiles_lineup, family, drafter_name, media):
    target, drafters = lineups(llava_lineup, qwen2vl, tiles_lineup)[family]
    for gamma in (1, 3, 6):
        config = DecodeConfig(max_new_tokens=48, gamma=gamma)
        reference, run = run_both(target, drafters[drafter_name], media, config)
        assert run.token_ids == reference.token_ids, (family, drafter_name, gamma)
        assert len(reference.token_ids) == 48


def test_many_rejections_are_still_identical(llava_lineup):
    """The random draft disagrees with the random target nearly always: crops on almost every step."""
    config = DecodeConfig(max_new_tokens=120, gamma=5)
    reference, run = run_both(llava_lineup.target, llava_lineup.drafter("model"), IMAGE, config)
    assert run.token_ids == reference.token_ids
    rejected_steps = sum(step.accepted < len(step.drafted) for step in run.steps)
    assert rejected_steps > len(run.steps) // 2


@pytest.mark.parametrize("family", ["llava", "qwen2vl"])
def test_a_perfect_drafter_is_accepted_whole(llava_lineup, qwen2vl, family):
    """The target drafting for itself: every draft accepted, tau = gamma + 1, and still identical."""
    target = lineups(llava_lineup, qwen2vl)[family][0]
    config = DecodeConfig(max_new_tokens=41, gamma=4)
    reference, run = run_both(target, ModelDrafter("model", target), IMAGE, config)
    assert run.token_ids == reference.token_ids
    assert run.alpha == 1.0
    assert run.tau == 5.0


def test_max_new_tokens_smaller_than_gamma(llava_lineup, qwen2vl):
    for target, drafters in lineups(llava_lineup, qwen2vl).values():
        for max_new_tokens in (1, 2, 3):
            config = DecodeConfig(max_new_tokens=max_new_tokens, gamma=8)
            reference, run = run_both(target, drafters["model"], IMAGE, config)
            assert run.token_ids == reference.token_ids
            assert len(run.token_ids) == max_new_tokens
            assert all(len(step.drafted) < max_new_tokens for step in run.steps)


def test_eos_inside_a_draft_stops_there(llava_lineup):
    """EOS accepted in the middle of a draft: nothing after it is emitted, as in target-only decoding."""
    target, gamma = llava_lineup.target, 4
    config = DecodeConfig(max_new_tokens=40, gamma=gamma)
    free_run = collect(target_only(target, QUESTION, IMAGE, config)).token_ids
    # An EOS whose first occurrence is not a bonus position (every gamma + 1 tokens after the first).
    eos = next(t for i, t in enumerate(free_run) if i > 2 and free_run.index(t) == i and i % (gamma + 1) != 0)
    generation_config = target.model.generation_config
    saved = generation_config.eos_token_id
    generation_config.eos_token_id = [saved, eos]
    try:
        reference, run = run_both(target, ModelDrafter("model", target), IMAGE, config)
    finally:
        generation_config.eos_token_id = saved
    assert run.token_ids == reference.token_ids == free_run[: free_run.index(eos) + 1]
    last = run.steps[-1]
    assert last.emitted[-1].token_id == eos and last.emitted[-1].kind == "accepted"
    assert len(last.emitted) < last.accepted + 1  # the draft went on past EOS and was cut


def test_one_target_forward_per_step_and_the_cache_is_cropped_not_recomputed(llava_lineup, monkeypatch):
    from msd_demo.engine import model_cache

    calls = []
    original_forward = model_cache.CachedModel.forward
    original_prefill = model_cache.CachedModel.prefill

    def counting_forward(self, token_ids):
        calls.append(("forward", self.model is target_model, len(token_ids), self.length))
        return original_forward(self, token_ids)

    def counting_prefill(self, model_inputs):
        calls.append(("prefill", self.model is target_model, model_inputs["input_ids"].shape[1], 0))
        return original_prefill(self, model_inputs)

    target_model = llava_lineup.target.model
    monkeypatch.setattr(model_cache.CachedModel, "forward", counting_forward)
    monkeypatch.setattr(model_cache.CachedModel, "prefill", counting_prefill)
    config = DecodeConfig(max_new_tokens=30, gamma=3)
    run = collect(speculative(llava_lineup.target, QUESTION, IMAGE, llava_lineup.drafter("model"), config))
    target_calls = [call for call in calls if call[1]]
    assert [call[0] for call in target_calls].count("prefill") == 1
    assert len(target_calls) == len(run.steps) + 1  # one prefill, then exactly one forward per step
    prompt_length = target_calls[0][2]
    for (_, _, fed, cache_length), emitted_before in zip(target_calls[1:], _emitted_before_each_step(run)):
        assert cache_length == prompt_length + emitted_before - 1  # all but the last emitted token cached
        assert fed >= 1


def _emitted_before_each_step(run):
    total = len(run.token_ids) - sum(len(step.emitted) for step in run.steps)
    for step in run.steps:
        yield total
        total += len(step.emitted)


def test_step_events_describe_each_token_fate(llava_lineup):
    config = DecodeConfig(max_new_tokens=30, gamma=4)
    run = collect(speculative(llava_lineup.target, QUESTION, IMAGE, llava_lineup.drafter("model"), config))
    for step in run.steps:
        kinds = [token.kind for token in step.emitted]
        assert kinds[: step.accepted] == ["accepted"] * step.accepted
        if len(step.emitted) == step.accepted + 1:
            assert kinds[-1] == ("bonus" if step.accepted == len(step.drafted) else "corrected")
        assert len(step.target_top) == len(step.drafted) + 1
        assert all(0.0 <= token.q <= 1.0 and 0.0 <= token.p <= 1.0 for token in step.drafted)
        assert step.draft_seconds > 0 and step.verify_seconds > 0


@pytest.mark.parametrize("drafter_name", ["model", "prompt-lookup"])
def test_sampling_runs_are_reproducible_with_a_seed(llava_lineup, drafter_name):
    config = DecodeConfig(max_new_tokens=25, gamma=3, sampling=SamplingConfig(temperature=0.8, top_p=0.9, seed=5))
    first = collect(speculative(llava_lineup.target, QUESTION, IMAGE, llava_lineup.drafter(drafter_name), config))
    second = collect(speculative(llava_lineup.target, QUESTION, IMAGE, llava_lineup.drafter(drafter_name), config))
    assert first.token_ids == second.token_ids
    assert len(first.token_ids) == 25


def test_metrics_of_a_comparison(llava_lineup):
    config = DecodeConfig(max_new_tokens=20, gamma=2)
    reference, run = run_both(llava_lineup.target, llava_lineup.drafter("model"), IMAGE, config)
    comparison = Comparison(reference, run)
    assert comparison.identical and comparison.first_difference is None
    assert comparison.speedup > 0 and comparison.theoretical_speedup > 0
    assert 1.0 <= run.tau <= 3.0 and 0.0 <= run.alpha <= 1.0
    assert reference.tau == 1.0  # target-only: one token per forward


@pytest.mark.parametrize(
    "settings, message",
    [({"gamma": 0}, "gamma"), ({"max_new_tokens": 0}, "max new tokens"), ({"gamma": 99}, "gamma")],
)
def test_out_of_range_settings_are_refused(settings, message):
    with pytest.raises(UserInputError, match=message):
        DecodeConfig(**settings)


def test_out_of_range_temperature_is_refused():
    with pytest.raises(UserInputError, match="temperature"):
        SamplingConfig(temperature=-1)
