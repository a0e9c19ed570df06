"""Measuring: Steps folded into statistics, two runs side by side, the benchmark, and their JSON and tables."""
