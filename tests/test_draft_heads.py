"""Draft heads on the target's features (msd and its ablations): exact incremental drafting, no extra
target work, and their training writes heads the runtime loads."""

import pytest
import torch

from msd_demo.engine import DecodeConfig, speculative
from msd_demo.engine.drafters import DraftHead, HeadConfig, load_head, save_head
from msd_demo.engine.drafters.head_model import KVCache
from msd_demo.measure.metrics import collect
from msd_demo.training.heads import RAMP_STEPS, RECIPES
from tests.test_engine import IMAGE, QUESTION, VIDEO


def test_feeding_a_head_piece_by_piece_equals_one_pass():
    """What the drafter does (prompt, then verified tokens, then one draft at a time, with crops) gives the
    features one causal pass over the whole sequence gives."""
    torch.manual_seed(0)
    head = DraftHead(HeadConfig(hidden_size=32, num_heads=4, intermediate_size=64)).eval()
    inputs = torch.randn(1, 12, 32)
    with torch.no_grad():
        whole = head(inputs, torch.arange(12))
        cache, pieces = KVCache(), []
        for start, end in ((0, 5), (5, 8), (8, 9), (9, 12)):
            pieces.append(head(inputs[:, start:end], torch.arange(start, end), cache))
        head(torch.randn(1, 2, 32), torch.arange(12, 14), cache)  # a draft, rejected
        cache.crop(12)
        assert cache.length == 12
        again = head(inputs[:, 11:12], torch.arange(11, 12), _cropped(cache, 11))
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(again, whole[:, 11:12], atol=1e-5, rtol=1e-4)


def _cropped(cache: KVCache, length: int) -> KVCache:
    cache.crop(length)
    return cache


def test_a_saved_head_loads_back_identical(tmp_path):
    torch.manual_seed(1)
    head = DraftHead(HeadConfig(hidden_size=32, num_heads=4, intermediate_size=64, decoupled=False)).eval()
    save_head(head, tmp_path / "head", {"steps": 3})
    loaded = load_head(tmp_path / "head", torch.device("cpu"), torch.float32)
    assert loaded.config == head.config and loaded.visual is None
    x = torch.randn(1, 4, 32)
    torch.testing.assert_close(loaded(x, torch.arange(4)), head.half().float()(x, torch.arange(4)))


@pytest.mark.parametrize("visual_feature", [False, True])
def test_decoupled_visual_positions_read_the_target_feature_only_when_asked(visual_feature):
    """msd's visual positions have their own projection; with visual_feature it also reads h_{i-1}, the
    target's feature before the position, and text positions are fused as before either way."""
    torch.manual_seed(2)
    head = DraftHead(HeadConfig(hidden_size=32, num_heads=4, intermediate_size=64, visual_feature=visual_feature)).eval()
    tokens, visual_embeds, mask = torch.randn(6, 32), torch.randn(6, 32), torch.tensor([False, True, True, False, False, False])
    features, other_features = torch.randn(6, 32), torch.randn(6, 32)
    with torch.no_grad():
        first, second = (head.inputs(tokens, f, visual_embeds, mask) for f in (features, other_features))
    assert torch.equal(first[mask], second[mask]) is (not visual_feature)
    assert not torch.equal(first[~mask], second[~mask])  # text positions always fuse h_{i-1}


def test_a_visual_feature_needs_decoupled_uncompressed_visual_positions():
    for switches in ({"decoupled": False}, {"visual_queries": 4}):
        with pytest.raises(ValueError, match="visual_feature"):
            HeadConfig(hidden_size=32, num_heads=4, intermediate_size=64, visual_feature=True, **switches)


def test_the_head_drafts_from_the_verification_pass_alone(llava_lineup, monkeypatch):
    """One target prefill and one target forward per step, as for any drafter: the features the head
    needs come out of the passes the target runs anyway."""
    from msd_demo.engine import model_cache

    target_model, calls = llava_lineup.target.model, []
    for method in ("_prefill", "_forward"):
        original = getattr(model_cache.CachedModel, method)

        def counting(self, *args, _original=original, _name=method, **kwargs):
            if self.model is target_model:
                calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(model_cache.CachedModel, method, counting)
    run = collect(speculative(llava_lineup.target, QUESTION, VIDEO, llava_lineup.drafter("msd"), DecodeConfig(40, gamma=3)))
    assert calls.count("_prefill") == 1
    assert calls.count("_forward") == len(run.steps)  # one per step after the prefill


def test_the_recipes_are_the_method_and_one_ablation_each():
    by_name = {recipe.name: recipe for recipe in RECIPES}
    msd, ramp = by_name["msd"], RAMP_STEPS
    assert msd.decoupled and msd.visual_feature and msd.steps(100, 1000) == 100 + 1000 + ramp // 2
    assert msd.multimodal_share(99, 100) == 0.0  # stage one: text only
    assert 0.0 < msd.multimodal_share(100 + ramp // 2, 100) < 1.0 == msd.multimodal_share(100 + ramp, 100)  # mixed in progressively
    shares = [msd.multimodal_share(step, 100) for step in range(msd.steps(100, 1000))]
    assert sum(shares) == pytest.approx(1000, abs=1)  # as many multimodal samples as the multimodal-only ablation
    assert not by_name["msd-no-decoupling"].decoupled and by_name["msd-no-decoupling"].steps(100, 1000) == msd.steps(100, 1000)
    multimodal_only, text_only = by_name["msd-multimodal-only"], by_name["msd-text-stage-only"]
    assert multimodal_only.steps(100, 1000) == 1000 and all(multimodal_only.multimodal_share(s, 100) == 1.0 for s in (0, 999))
    assert text_only.steps(100, 1000) == 100 and all(text_only.multimodal_share(s, 100) == 0.0 for s in (0, 99))


def test_a_warm_start_goes_on_with_stage_two_without_stage_one_again():
    """A warm-started head has been through its recipe once: a recipe with stage two trains on at stage two's
    final share (the multimodal stage alone), while the text-only ablation goes on with its text stage."""
    for recipe in RECIPES:
        continued = recipe.continued()
        assert (continued.name, continued.decoupled, continued.visual_feature) == (recipe.name, recipe.decoupled, recipe.visual_feature)
        if recipe.multimodal_stage:
            assert continued.steps(100, 150) == 150 and all(continued.multimodal_share(s, 100) == 1.0 for s in (0, 149))
        else:
            assert continued == recipe and continued.multimodal_share(0, 100) == 0.0


def test_head_drafters_are_offered_where_their_weights_are(llava_lineup, tmp_path):
    from msd_demo.presets.catalog import get_preset

    assert {"msd", "msd-no-decoupling"} <= set(llava_lineup.preset.drafters)
    assert "msd" not in get_preset("tiny", tmp_path).drafters  # a models folder without heads
    assert IMAGE.kind == "image"
