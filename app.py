"""MSD Demo: watch a multimodal model decode alone and with a drafter, side by side, and measure the gain.

Layout and wiring only; the work is in msd_demo/ui (handler: the engine calls; render, plots, inspector:
pure rendering). `python app.py` serves it (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured).
"""

import msd_demo.ui.gpu  # noqa: F401, I001  first: on a ZeroGPU Space, spaces must be imported before torch
import gradio as gr

from msd_demo.engine.tree import MAX_TOP_K
from msd_demo.limits import LIMITS
from msd_demo.startup import read_environment
from msd_demo.presets.catalog import PRESETS
from msd_demo.ui import handler, replay_wiring, wiring
from msd_demo.ui.examples import ASSETS_DIR, example_rows
from msd_demo.ui.explain import how_it_works_markdown
from msd_demo.ui.handler import Settings
from msd_demo.ui.inspector import inspector_html
from msd_demo.ui.render import CSS, legend_html, speculative_panel_html, target_panel_html
from msd_demo.ui.replay import SPEEDS
from msd_demo.ui.tree_view import latest_tree_html
from msd_demo.ui.uploads import upload_cleanup

handler.configure(read_environment())  # the app's start-up: limits, models folder, preset, threads
DEFAULTS = Settings()
ENGINE = "engine"  # one concurrency group: the engine is not thread safe across runs on one model
# Safe defaults: no public share link, uploads over the size limit refused by the server before they are stored.
LAUNCH_OPTIONS = dict(theme=gr.themes.Soft(), css=CSS, allowed_paths=[str(ASSETS_DIR)], share=False,
                      max_file_size=f"{LIMITS.max_upload_megabytes:g}mb")
# Uploads live in gradio's temporary folder; files older than the retention time are deleted, checked every
# quarter of it, and all of them when the server stops (msd_demo.ui.uploads: gradio's delete_cache can stop).
RETENTION = LIMITS.upload_retention_seconds
DELETE_UPLOADS = (max(1, RETENTION // 4), RETENTION)


def launch_options(delete_uploads: tuple[float, float] = DELETE_UPLOADS) -> dict:
    """LAUNCH_OPTIONS and the upload clean-up (every, age in seconds); fresh for each launch, because gradio
    writes its own lifespan into the app_kwargs it is given."""
    return dict(LAUNCH_OPTIONS, app_kwargs={"lifespan": upload_cleanup(*delete_uploads)})


INTRO = """# MSD Demo: speculative decoding on a multimodal LLM
Upload an image or a video and ask about it. The target model answers twice: **alone** (left) and **with a
drafter** proposing tokens that the target verifies (right). Every drafted token is coloured by its fate."""


def settings_controls():
    preset = gr.Dropdown([(f"{name} ({chosen.size})", name) for name, chosen in PRESETS.items()],
                         value=DEFAULTS.preset, label="model preset")
    preset_description = gr.Markdown(wiring.preset_description(DEFAULTS.preset))
    drafters = PRESETS[DEFAULTS.preset].drafters
    drafter = gr.Dropdown(drafters, value=DEFAULTS.drafter, label="drafter")
    description = gr.Markdown(wiring.drafter_description(DEFAULTS.drafter))
    gamma = gr.Slider(1, LIMITS.max_gamma, value=DEFAULTS.gamma, step=1, label="gamma (draft length)")
    temperature = gr.Slider(0, LIMITS.max_temperature, value=DEFAULTS.temperature, step=0.05,
                            label="temperature (0 = greedy)")
    max_new_tokens = gr.Slider(1, LIMITS.max_new_tokens, value=wiring.answer_tokens(DEFAULTS.preset), step=1,
                               label="max new tokens")
    seed = gr.Number(DEFAULTS.seed, precision=0, label="seed")
    return preset, preset_description, drafter, description, gamma, temperature, max_new_tokens, seed


def draft_controls():
    """Chains of gamma tokens, EAGLE-2 trees of a chosen shape, or dynamic chains that stop below a threshold."""
    draft = gr.Radio(list(handler.DRAFTS), value="chain", label="draft", elem_id="draft-choice")
    with gr.Group(visible=False) as tree_shape:
        top_k = gr.Slider(1, MAX_TOP_K, value=DEFAULTS.tree_top_k, step=1, label="tree top-k (children per node)")
        depth = gr.Slider(1, 16, value=DEFAULTS.tree_depth, step=1, label="tree depth")
        nodes = gr.Slider(1, 64, value=DEFAULTS.tree_nodes, step=1, label="tree nodes (budget)")
    threshold = gr.Slider(0.01, 0.99, value=handler.DYNAMIC_CHAIN_THRESHOLD, step=0.01, visible=False,
                          label="dynamic threshold (stop once the path's cumulative q is below)")
    draft.change(wiring.draft_shown, draft, [tree_shape, threshold], api_visibility="private")
    return draft, top_k, depth, nodes, threshold


def api_endpoint():
    """/compare for clients: hidden inputs whose values are the API's defaults."""
    with gr.Column(visible=False):
        media = gr.File(label="media", type="filepath")
        prompt = gr.Textbox(label="prompt")
        drafter = gr.Textbox("", label="drafter")  # empty: the preset's default drafter
        gamma = gr.Number(DEFAULTS.gamma, precision=0, label="gamma")
        temperature = gr.Number(DEFAULTS.temperature, label="temperature")
        max_new_tokens = gr.Number(DEFAULTS.max_new_tokens, precision=0, label="max_new_tokens")
        preset = gr.Textbox(DEFAULTS.preset, label="preset")
        seed = gr.Number(DEFAULTS.seed, precision=0, label="seed")
        tree = gr.Checkbox(False, label="tree")  # false: chains of gamma tokens
        top_k = gr.Number(DEFAULTS.tree_top_k, precision=0, label="tree_top_k")
        depth = gr.Number(DEFAULTS.tree_depth, precision=0, label="tree_depth")
        nodes = gr.Number(DEFAULTS.tree_nodes, precision=0, label="tree_nodes")
        threshold = gr.Number(DEFAULTS.dynamic_threshold, label="dynamic_threshold")
        result = gr.JSON(label="result")
        trigger = gr.Button()
    trigger.click(wiring.compare_api, [media, prompt, drafter, gamma, temperature, max_new_tokens, preset, seed,
                                       tree, top_k, depth, nodes, threshold],
                  result, api_name="compare", concurrency_id=ENGINE)


def replay_controls():
    """Play/pause, one step back or forward, the speed, and the position: a finished run, replayed slowly."""
    with gr.Row():
        play = gr.Button(replay_wiring.PLAY, size="sm", elem_id="replay-play", min_width=90)
        pause = gr.Button(replay_wiring.PAUSE, size="sm", elem_id="replay-pause", min_width=90)
        back = gr.Button("◀ Step", size="sm", elem_id="replay-back", min_width=90)
        forward = gr.Button("Step ▶", size="sm", elem_id="replay-forward", min_width=90)
    with gr.Row():
        speed = gr.Radio(list(SPEEDS), value=next(iter(SPEEDS)), label="speed (of the measured speed)",
                         elem_id="replay-speed", scale=1, min_width=160)
        position = gr.Slider(0, 1, value=0, step=1, label="replay position (steps of both runs)",
                             elem_id="replay-position", scale=3)
    description = gr.Markdown("*After a run, replay it here, slowly or step by step.*", elem_id="replay-status")
    return play, pause, back, forward, speed, position, description


with gr.Blocks(title="MSD Demo: speculative decoding, seen and measured") as demo:
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            with gr.Row():
                image = gr.Image(type="filepath", sources=["upload", "webcam", "clipboard"], label="image", height=220)
                video = gr.Video(sources=["upload"], label="video", height=220)
            prompt = gr.Textbox(label="prompt", placeholder="Describe the picture in detail.", lines=2)
            with gr.Row():
                run = gr.Button("Run", variant="primary")
                stop = gr.Button("Stop", variant="stop")
            with gr.Accordion("Settings", open=True):
                preset, preset_description, drafter, description, gamma, temperature, max_new_tokens, seed = settings_controls()
                draft, top_k, depth, nodes, threshold = draft_controls()
        with gr.Column(scale=2):
            gr.HTML(legend_html())
            with gr.Row():
                with gr.Column():
                    gr.Markdown("### Target only")
                    target_panel = gr.HTML(target_panel_html(()), elem_id="target-panel")
                with gr.Column():
                    gr.Markdown("### Speculative (drafter)")
                    speculative_panel = gr.HTML(speculative_panel_html(()), elem_id="speculative-panel")
                    live_tree = gr.HTML(latest_tree_html(()), elem_id="live-tree")
            stats = gr.HTML(elem_id="stats")
            with gr.Accordion("Replay the last run", open=True):
                play, pause, back, forward, speed, replay_position, replay_status = replay_controls()
    gr.Examples(example_rows(), inputs=[image, video, prompt], cache_examples=False, examples_per_page=9,
                label="Examples (the shapes world the tiny models were trained on)")
    with gr.Row():
        acceptance_plot = gr.Plot(label="accepted per step", elem_id="acceptance-plot")
        latency_plot = gr.Plot(label="latency per step", elem_id="latency-plot")
    with gr.Row():
        race_plot = gr.Plot(label="race", elem_id="race-plot")
        expected_plot = gr.Plot(label="expected speedup", elem_id="expected-plot")
    with gr.Accordion("Step inspector", open=False):
        inspected_steps = gr.State(())
        step_number = gr.Slider(1, 2, value=1, step=1, label="speculative step")
        inspector = gr.HTML(inspector_html((), 1))
    with gr.Accordion("How it works", open=False):
        gr.Markdown(how_it_works_markdown())
    api_endpoint()

    inputs = [image, video, prompt, preset, drafter, gamma, temperature, max_new_tokens, seed,
              draft, top_k, depth, nodes, threshold]
    shown = [target_panel, speculative_panel, stats, live_tree, acceptance_plot, latency_plot, race_plot, expected_plot]
    outputs = shown + [inspected_steps, step_number, inspector, replay_position, replay_status]
    replay_outputs = shown + [step_number, inspector, replay_position, replay_status]
    # The replay's clicks skip the queue: they run no model, and must not wait behind runs.
    quick = dict(api_visibility="private", queue=False, show_progress="hidden")
    # A new run ends the replay of the last one, so that no replay draws over the live panels.
    run.click(replay_wiring.forget, None, None, **quick)
    prompt.submit(replay_wiring.forget, None, None, **quick)
    run_event = run.click(wiring.run_in_ui, inputs, outputs, api_visibility="private", concurrency_id=ENGINE)
    submit_event = prompt.submit(wiring.run_in_ui, inputs, outputs, api_visibility="private", concurrency_id=ENGINE)
    # Stop ends the session's run within one engine step (wiring.stop_run), and gradio's cancel ends the event;
    # it pauses a replay too.
    stop.click(wiring.stop_run, None, None, cancels=[run_event, submit_event], api_visibility="private",
               concurrency_limit=None, queue=False)
    stop.click(replay_wiring.pause, None, None, **quick)
    pause.click(replay_wiring.pause, None, None, **quick)
    # Play streams, so it is queued, but beside the runs' concurrency group: it runs no model.
    play.click(replay_wiring.play, speed, replay_outputs, api_visibility="private", concurrency_limit=None,
               show_progress="hidden")
    back.click(replay_wiring.step_back, None, replay_outputs, **quick)
    forward.click(replay_wiring.step_forward, None, replay_outputs, **quick)
    replay_position.release(replay_wiring.seek, replay_position, replay_outputs, **quick)
    speed.change(replay_wiring.set_speed, speed, None, **quick)
    step_number.input(wiring.show_step, [inspected_steps, step_number], inspector, api_visibility="private")
    demo.unload(replay_wiring.end_session)
    preset.change(wiring.drafter_choices, preset, drafter, api_visibility="private")
    preset.change(wiring.preset_description, preset, preset_description, api_visibility="private")
    preset.change(wiring.answer_tokens, preset, max_new_tokens, api_visibility="private")
    drafter.change(wiring.drafter_description, drafter, description, api_visibility="private")
    drafter.change(wiring.tree_shape_for, [preset, drafter], [top_k, depth, nodes], api_visibility="private")
    image.change(wiring.keep_one_media, image, video, api_visibility="private")
    video.change(wiring.keep_one_media, video, image, api_visibility="private")

# One run at a time per device (concurrency_id ENGINE); at most LIMITS.max_queue more wait, the rest are told
# that the queue is full.
demo.queue(default_concurrency_limit=1, max_size=LIMITS.max_queue)

if msd_demo.ui.gpu.ON_ZERO_GPU:
    handler.preload()

if __name__ == "__main__":
    demo.launch(**launch_options())
