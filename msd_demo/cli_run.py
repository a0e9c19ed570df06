"""python -m msd_demo run: one image or video, both decodings, compared."""

import json

from msd_demo.cli import decode_config
from msd_demo.compare import Request, compare
from msd_demo.media import load_image, load_video
from msd_demo.presets import get_preset, load_lineup
from msd_demo.report import comparison_json, comparison_text


def run_command(args) -> int:
    config = decode_config(args)  # settings and input are checked before any model is loaded
    frames = get_preset(args.preset, args.models_dir).video_frames
    media = load_image(args.image) if args.image else load_video(args.video, frames)
    request = Request(args.prompt, media, args.drafter, config)
    lineup = load_lineup(args.preset, args.models_dir, args.dtype)
    lineup.drafter(request.drafter)  # an unknown drafter is refused before decoding
    result = comparison_json(compare(lineup, request), lineup.target, request.drafter, config.sampling.greedy)
    print(json.dumps(result) if args.json else comparison_text(result))
    return 0
