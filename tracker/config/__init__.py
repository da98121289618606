"""Settings: their types, tracker.toml and the environment, validation.
"""
