"""A tiny calculator: the application the demo pipeline tests, packages and releases."""

__version__ = "1.0.0"


def add(*numbers: float) -> float:
    return sum(numbers)
