"""Renderings of traces read back: the work-log model, plain data, the HTML waterfall and reply helpers."""
