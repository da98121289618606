"""tracker: formal inquiries to online platforms, their replies, their silence and deadlines."""

__version__ = "0.1.0"
