"""The one public entry point the CLI, the benchmark and the app share: decode twice and compare."""

from dataclasses import dataclass, replace

from msd_demo.engine import DecodeConfig, speculative, target_only
from msd_demo.inputs.media import Media
from msd_demo.inputs.prompt import check_question
from msd_demo.measure.metrics import Comparison, RunStats, collect
from msd_demo.presets.lineup import Lineup


@dataclass(frozen=True)
class Request:
    question: str
    media: Media | None
    drafter: str = "model"
    config: DecodeConfig = DecodeConfig()

    def __post_init__(self):
        object.__setattr__(self, "question", check_question(self.question))


def run_target_only(lineup: Lineup, request: Request) -> RunStats:
    return collect(target_only(lineup.target, request.question, request.media, request.config))


def run_speculative(lineup: Lineup, request: Request) -> RunStats:
    drafter = lineup.drafter(request.drafter)
    return collect(speculative(lineup.target, request.question, request.media, drafter, request.config))


def compare(lineup: Lineup, request: Request) -> Comparison:
    """Target-only first, then speculative: the two runs never overlap in time. A short untimed run of each
    first, so first-call costs (allocations, lazy set-up) land in neither timed run: without it the target-only
    run, which goes first, carried them and a run's wall-clock speedup read higher than its compute speedup."""
    warm_up(lineup, request)
    return Comparison(run_target_only(lineup, request), run_speculative(lineup, request))


def warm_up(lineup: Lineup, request: Request) -> None:
    short = replace(request, config=replace(request.config, max_new_tokens=min(request.config.gamma + 2, request.config.max_new_tokens)))
    run_target_only(lineup, short)
    run_speculative(lineup, short)
