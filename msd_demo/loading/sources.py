"""Which models may be loaded: the presets' own, or a local folder, unless the operator allows any.

A public demo must never fetch and run a model that a request names. A local folder (the tiny preset's models/,
or --models-dir / MSD_MODELS_DIR) is put there by whoever runs the app, so it is allowed; a hub id must be one a
preset lists. MSD_ALLOW_ANY_MODEL=1 lifts the allow-list. Remote code is never run either way (models.py).
"""

from pathlib import Path

from msd_demo.errors import UserInputError
from msd_demo.limits import env_flag
from msd_demo.presets.catalog import preset_sources

ALLOW_ANY_MODEL = "MSD_ALLOW_ANY_MODEL"


def check_model_source(source: str | Path) -> None:
    """Raises UserInputError unless source may be loaded."""
    if env_flag(ALLOW_ANY_MODEL) or Path(source).is_dir() or str(source) in preset_sources():
        return
    hub_ids = sorted(source for source in preset_sources() if not Path(source).is_absolute())
    listed = f"the presets' hub models ({', '.join(hub_ids)})" if hub_ids else "the presets' models"
    raise UserInputError(f"model {source} is neither a local folder nor one of {listed}; "
                         f"set {ALLOW_ANY_MODEL}=1 to allow any model.")
