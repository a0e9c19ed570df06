"""The Gradio app's parts: the handler (the only caller of the engine) and pure rendering (Steps in, HTML and
figures out). Only this package and app.py import gradio; only this package imports plotly."""
