"""Loading models: the hub, the allow-list of sources, processors, and the presets that make lineups."""
