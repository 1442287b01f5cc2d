"""The error types of genre_model. Messages are written for the person who supplied the input."""


class GenreModelError(Exception):
    """Base class: anything genre_model raises on purpose."""


class AudioError(GenreModelError):
    """The audio could not be used. ``code`` is a stable machine-readable reason.

    Codes: ``unreadable`` (corrupt, truncated or not audio), ``empty``, ``silent``,
    ``too_short``, ``too_long``, ``non_finite`` (NaN or infinite samples), ``bad_format``
    (an impossible channel count or sample rate).
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class CheckpointError(GenreModelError):
    """A model directory or weights file is missing, unsafe or does not match its architecture."""
