"""Coordinates for the inline SVG charts (the templates draw them; every chart has a table fallback)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineChart:
    """A 0-1 line chart in a fixed viewBox: ``points`` for a polyline, ``dots`` for markers."""

    width: int
    height: int
    points: str
    dots: list[tuple[float, float, float]]  # (x, y, value)
    target_y: float | None


def line_chart(values: list[float], target: float | None = None, width: int = 600, height: int = 160) -> LineChart:
    """Place values (each 0-1) evenly from left to right; y grows downwards in SVG."""
    pad = 8
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def y(value: float) -> float:
        return round(pad + (1 - min(max(value, 0.0), 1.0)) * (height - 2 * pad), 1)

    dots = [(round(pad + i * step, 1), y(v), v) for i, v in enumerate(values)]
    return LineChart(
        width=width,
        height=height,
        points=" ".join(f"{x},{yy}" for x, yy, _ in dots),
        dots=dots,
        target_y=y(target) if target is not None else None,
    )
