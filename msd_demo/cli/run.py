"""python -m msd_demo run: one image or video, both decodings, compared."""

import json

from msd_demo.cli.arguments import decode_config
from msd_demo.inputs.media import load_image, load_video
from msd_demo.measure.run_json import comparison_json, comparison_text
from msd_demo.measure.side_by_side import Request, compare
from msd_demo.presets.catalog import get_preset
from msd_demo.presets.lineup import load_lineup


def run_command(args) -> int:
    preset = get_preset(args.preset, args.models_dir)
    # Checked before any model is loaded; room for the preset's usual answer (the benchmark keeps DecodeConfig's 128).
    config = decode_config(args, preset.tree_defaults.get(args.drafter), preset.default_max_new_tokens)
    frames = preset.video_frames
    media = load_image(args.image) if args.image else load_video(args.video, frames)
    request = Request(args.prompt, media, args.drafter, config)
    lineup = load_lineup(args.preset, args.models_dir, args.dtype)
    lineup.drafter(request.drafter)  # an unknown drafter is refused before decoding
    result = comparison_json(compare(lineup, request), lineup.target, request.drafter, config.sampling.greedy)
    print(json.dumps(result) if args.json else comparison_text(result))
    return 0
