"""Lesson 02's arrival picture: built from the measured times, one dot per event."""

from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

from wslab.plots.first import plot_arrivals


def test_one_dot_per_event_at_its_arrival_time():
    """Each event is a dot at (arrival time in ms, event number)."""
    figure = plot_arrivals([0.002, 0.052, 0.103], interval=0.05)
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    (dots,) = axes.lines[-1:]
    assert list(dots.get_xdata()) == pytest.approx([2.0, 52.0, 103.0])
    assert list(dots.get_ydata()) == [1, 2, 3]


def test_schedule_repeats_every_interval_and_fits_the_arrivals():
    """The dashed schedule lines are one interval apart, placed by the median offset."""
    # Offsets from slots 0, 50, 100, 150 ms: 10, 20 (a late event), 10, 10 -> median 10.
    figure = plot_arrivals([0.010, 0.070, 0.110, 0.160], interval=0.05)
    schedule = [line.get_xdata()[0] for line in figure.axes[0].lines[:-1]]
    assert schedule == pytest.approx([10.0, 60.0, 110.0, 160.0])


def test_a_late_first_event_does_not_shift_the_schedule():
    """A first event delayed by the handshake leaves the schedule on the later events."""
    figure = plot_arrivals([0.030, 0.060, 0.110, 0.160, 0.210], interval=0.05)
    schedule = [line.get_xdata()[0] for line in figure.axes[0].lines[:-1]]
    assert schedule == pytest.approx([10.0, 60.0, 110.0, 160.0, 210.0])


def test_figure_renders_to_png():
    """The figure draws without pyplot (what a notebook stores as image/png)."""
    buffer = io.BytesIO()
    plot_arrivals([0.0, 0.5], interval=0.5).savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


@pytest.mark.parametrize("times, interval", [([], 0.05), ([0.1], 0), ([0.1], -1.0)])
def test_refuses_what_it_cannot_draw(times, interval):
    """No times, or an interval that is not positive, is a ValueError."""
    with pytest.raises(ValueError):
        plot_arrivals(times, interval)
