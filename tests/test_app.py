"""The /compare API through gradio_client, on the app launched on loopback with the tiny random models."""

import pytest

from msd_demo.ui.examples import ASSETS_DIR
from tests.launch import launched_app

QUESTION = "Describe what you see."


@pytest.fixture(scope="module")
def client(llava_dir):
    from gradio_client import Client

    with launched_app(str(llava_dir)) as url:
        yield Client(url, verbose=False)


@pytest.mark.sweep
@pytest.mark.parametrize("media", ["shapes_3.png", "video_1.mp4"])
def test_compare_streams_then_reports_speedup(client, media):
    from gradio_client import handle_file

    job = client.submit(media=handle_file(str(ASSETS_DIR / media)), prompt=QUESTION, drafter="model", gamma=3,
                        max_new_tokens=48, api_name="/compare")
    final = job.result(timeout=120)
    updates = job.outputs()
    assert len(updates) >= 2 and updates[0]["finished"] is False
    assert final["finished"] is True and final["speedup"] > 0 and final["compute_speedup"] > 0  # wall-clock; the race's
    assert final["identical"] is True and final["gamma"] == 3
    assert len(final["target"]["token_ids"]) == len(final["speculative"]["token_ids"]) == 48
    assert 0 <= final["acceptance_rate"] <= 1 and final["mean_accepted_tokens"] >= 1


def test_defaults_and_a_clear_error_then_the_app_keeps_serving(client):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="prompt is empty"):
        client.predict(media=handle_file(str(ASSETS_DIR / "shapes_1.png")), prompt=" ", api_name="/compare")
    with pytest.raises(AppError, match="gamma"):
        client.predict(media=handle_file(str(ASSETS_DIR / "shapes_1.png")), prompt=QUESTION, gamma=99, api_name="/compare")
    final = client.predict(media=handle_file(str(ASSETS_DIR / "shapes_1.png")), prompt=QUESTION,
                           max_new_tokens=8, api_name="/compare")
    assert final["drafter"] == "msd" and final["temperature"] == 0 and "speedup" in final
    assert final["preset"] == "tiny" and final["seed"] == 0


def test_preset_and_seed_are_inputs_checked_like_the_others(client):
    import gradio as gr
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from msd_demo.ui import wiring

    image = handle_file(str(ASSETS_DIR / "shapes_1.png"))
    with pytest.raises(AppError, match="unknown preset 'nope'; choose one of: tiny, llava-interleave"):
        client.predict(media=image, prompt=QUESTION, preset="nope", api_name="/compare")
    with pytest.raises(gr.Error, match="seed must be a whole number"):  # the client's number box rounds: called directly
        next(wiring.compare_api(str(ASSETS_DIR / "shapes_1.png"), QUESTION, "", 3, 0, 8, "tiny", 1.5))
    sampled = [client.predict(media=image, prompt=QUESTION, preset="tiny", seed=seed, temperature=1.0, drafter="model",
                              max_new_tokens=12, api_name="/compare") for seed in (5, 5)]
    assert sampled[0]["seed"] == 5 and sampled[0]["preset"] == "tiny" and sampled[0]["temperature"] == 1.0
    assert sampled[0]["target"]["token_ids"] == sampled[1]["target"]["token_ids"]  # the seed makes a sample repeatable


def test_the_api_is_documented_under_its_name(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/compare" in endpoints
    names = [parameter["parameter_name"] for parameter in endpoints["/compare"]["parameters"]]
    assert names == ["media", "prompt", "drafter", "gamma", "temperature", "max_new_tokens", "preset", "seed",
                     "tree", "tree_top_k", "tree_depth", "tree_nodes", "dynamic_threshold"]


def test_the_api_drafts_trees_when_asked_and_chains_by_default(client):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    image = handle_file(str(ASSETS_DIR / "shapes_1.png"))
    tree = client.predict(media=image, prompt=QUESTION, drafter="model", max_new_tokens=12, tree=True, tree_top_k=3,
                          tree_depth=2, tree_nodes=6, api_name="/compare")
    assert tree["tree"] == {"top_k": 3, "depth": 2, "nodes": 6} and tree["identical"] is True
    assert any(sum(node["parent"] == -1 for node in step["tree"]["nodes"]) == 3 for step in tree["speculative"]["steps"])
    chain = client.predict(media=image, prompt=QUESTION, drafter="model", max_new_tokens=12, api_name="/compare")
    assert chain["tree"] is None and chain["dynamic_threshold"] == 0
    assert all(len(step["tree"]["nodes"]) <= chain["gamma"] for step in chain["speculative"]["steps"])
    with pytest.raises(AppError, match="tree top-k must be between 1 and 16, got 0"):
        client.predict(media=image, prompt=QUESTION, tree=True, tree_top_k=0, api_name="/compare")
    with pytest.raises(AppError, match=r"the dynamic threshold must be in \[0, 1\), got 1.5"):
        client.predict(media=image, prompt=QUESTION, dynamic_threshold=1.5, api_name="/compare")
