"""The app's event functions: handler snapshots -> gradio outputs, throttled so the browser is not flooded.

Bad input becomes a warning toast and an error box; the app keeps serving. The API raises gr.Error, which
a client receives as an error with the same message.
"""

import logging
import time
import traceback
from collections.abc import Iterator
from dataclasses import replace

import gradio as gr

from msd_demo.errors import UserInputError, without_secrets
from msd_demo.presets.catalog import DRAFTER_DESCRIPTIONS, get_preset
from msd_demo.ui import handler, replay_store, stop, views
from msd_demo.ui.handler import Settings
from msd_demo.ui.inspector import first_step_to_inspect, inspector_html
from msd_demo.ui.race import RaceSnapshot
from msd_demo.ui.replay import Recording, Replay
from msd_demo.ui.summary import error_html, status_html

PANEL_INTERVAL = 0.1  # seconds between panel updates while streaming
PLOT_INTERVAL = 0.3  # plots are heavier: redrawn less often, and once more at the end
log = logging.getLogger(__name__)


def throttled(snapshots: Iterator[RaceSnapshot], interval: float) -> Iterator[RaceSnapshot]:
    """The first snapshot, then at most one per interval (wall time), and always the last one."""
    last_sent = None
    for snapshot in snapshots:
        now = time.perf_counter()
        if snapshot.finished or last_sent is None or now - last_sent >= interval:
            last_sent = now
            yield snapshot


def run_in_ui(image, video, prompt, preset, drafter, gamma, temperature, max_new_tokens, seed, draft="chain",
              tree_top_k=Settings.tree_top_k, tree_depth=Settings.tree_depth, tree_nodes=Settings.tree_nodes,
              dynamic_threshold=0.0, gradio_request: gr.Request = None):
    """Outputs: target panel, speculative panel, stats, live tree, 4 figures, inspected (steps, EOS ids), step
    slider, inspector, replay position slider, replay description. A finished run is kept for the replay.
    draft: "chain", "tree" (of the tree_* shape) or "dynamic chain" (stops below dynamic_threshold)."""
    session = getattr(gradio_request, "session_hash", None)
    with stop.stop_signal(session) as stop_requested:
        try:
            tree = handler.draft_settings(draft, tree_top_k, tree_depth, tree_nodes, dynamic_threshold)
            settings = Settings(preset, drafter, gamma, temperature, max_new_tokens, seed, **tree)
            request = handler.prepare(video or image, prompt, settings)
            for message in handler.load_with_progress(settings.preset, settings.drafter):
                yield _status_outputs(message)
            empty = Recording((), (), handler.draft_depth(request.config), request.config.sampling.greedy,
                              handler.reduced_precision(settings.preset), handler.eos_token_ids(settings.preset))
            last_plot = None
            for snapshot in throttled(handler.stream(settings.preset, request, stop_requested), PANEL_INTERVAL):
                plots_due = snapshot.finished or last_plot is None or time.perf_counter() - last_plot >= PLOT_INTERVAL
                last_plot = time.perf_counter() if plots_due else last_plot
                yield _outputs(snapshot, empty, plots_due, session)
        except UserInputError as error:
            gr.Warning(str(error))
            yield _error_outputs(str(error))
        except Exception as error:  # a bug, not bad input: say so, log it, keep serving
            gr.Warning(f"internal error: {type(error).__name__}")
            yield _error_outputs(_internal_error(error))


def stop_run(gradio_request: gr.Request = None) -> None:
    """The Stop button: the session's run computes no further step (gradio's cancel then ends the event)."""
    stop.request_stop(getattr(gradio_request, "session_hash", None))


def compare_api(media: str, prompt: str, drafter: str, gamma: int, temperature: float, max_new_tokens: int,
                preset: str | None = None, seed: int | None = None, tree: bool | None = None,
                tree_top_k: int | None = None, tree_depth: int | None = None, tree_nodes: int | None = None,
                dynamic_threshold: float | None = None):
    """/compare: streams {"finished": false, texts so far}, then the full result with speedup, tau and alpha.
    Empty preset or seed: the app's default preset, seed 0; empty drafter: the preset's default drafter.
    tree: draft EAGLE-2 trees (empty shape values: TreeConfig's), else chains of gamma tokens (the default);
    dynamic_threshold > 0 stops a draft once its best path's cumulative q falls below it."""
    try:
        preset = preset or handler.default_preset()
        drafter = drafter or handler.default_drafter(preset)
        given = dict(seed=seed, tree=tree, tree_top_k=tree_top_k, tree_depth=tree_depth, tree_nodes=tree_nodes,
                     dynamic_threshold=dynamic_threshold)
        settings = Settings(preset, drafter, gamma, temperature, max_new_tokens,
                            **{name: value for name, value in given.items() if value is not None and value != ""})
        request = handler.prepare(media, prompt, settings)
        for _ in handler.load_with_progress(settings.preset, settings.drafter):
            pass  # loaded here, outside the GPU call (on ZeroGPU the GPU is held only while decoding)
        for snapshot in throttled(handler.stream(settings.preset, request), PANEL_INTERVAL):
            yield handler.api_result(snapshot, settings.preset, request)
    except UserInputError as error:
        raise gr.Error(str(error)) from None
    except Exception as error:  # a bug, not bad input: the client is told so, the traceback is logged
        raise gr.Error(_internal_error(error)) from None


def show_step(inspected, number) -> str:
    """inspected: (the speculative run's decode steps, the target's EOS ids)."""
    steps, eos_ids = inspected or ((), frozenset())
    return inspector_html(steps, number or 1, eos_ids)


def tree_shape_for(preset: str, drafter: str):
    """The tree sliders start from the paper's tree where the preset runs that paper's released head."""
    return tuple(gr.update(value=value) for value in handler.tree_shape(preset, drafter))


def drafter_choices(preset: str):
    """The preset's drafters, keeping the default drafter when it has one."""
    drafters = get_preset(preset, handler.models_dir()).drafters
    value = handler.default_drafter(preset)
    return gr.update(choices=drafters, value=value)


def preset_description(preset: str) -> str:
    chosen = get_preset(preset, handler.models_dir())
    return f"*{chosen.description}. Size: {chosen.size}. Needs: {chosen.hardware}.*"


def answer_tokens(preset: str) -> int:
    """The preset's default cap on new tokens: its target's usual answer fits."""
    return get_preset(preset, handler.models_dir()).default_max_new_tokens


def drafter_description(drafter: str) -> str:
    return f"*{DRAFTER_DESCRIPTIONS.get(drafter, '')}*"


def draft_shown(draft: str):
    """The tree's shape for a tree, the threshold for a dynamic chain."""
    return gr.update(visible=draft == "tree"), gr.update(visible=draft == "dynamic chain")


def keep_one_media(new_value):
    """An image replaces a video and vice versa: the run uses exactly one."""
    return None if new_value is not None else gr.skip()


def _outputs(snapshot: RaceSnapshot, empty: Recording, plots_due: bool, session: str | None) -> tuple:
    """empty: the run's settings (gamma, greedy, precision, EOS ids) with no steps yet."""
    shown = views.panels(snapshot, empty)
    if not plots_due:
        return shown + (gr.skip(),) * 9
    steps = snapshot.comparison().speculative.steps
    inspected = (steps, empty.eos_ids)
    figures = views.figures(snapshot, empty.gamma)
    if not snapshot.finished:  # the step slider grows; the inspector is left to the person meanwhile
        return shown + figures + (inspected, gr.update(maximum=max(len(steps), 2)), gr.skip(), gr.skip(), gr.skip())
    chosen = first_step_to_inspect(steps)
    step_slider = gr.update(maximum=max(len(steps), 2), value=chosen)
    replay = Replay.at_end(replace(empty, target=snapshot.target, speculative=snapshot.speculative))
    replay_store.keep(session, replay)
    replay_slider = gr.update(maximum=max(replay.position, 1), value=replay.position)
    return (shown + figures + (inspected, step_slider, inspector_html(steps, chosen, empty.eos_ids))
            + (replay_slider, replay.describe()))


def _internal_error(error: Exception) -> str:
    """Logs the traceback and returns the message to show, secrets removed from both."""
    log.error("comparison failed: %s", without_secrets(traceback.format_exc()))
    return f"internal error ({without_secrets(f'{type(error).__name__}: {error}')}); please report it."


def _error_outputs(message: str) -> tuple:
    return (gr.skip(), gr.skip(), error_html(message)) + (gr.skip(),) * 10


def _status_outputs(message: str) -> tuple:
    return (gr.skip(), gr.skip(), status_html(message)) + (gr.skip(),) * 10
