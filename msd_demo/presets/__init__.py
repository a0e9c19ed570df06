"""Presets (plain data: catalog.py) and the lineups loaded from them (lineup.py)."""
