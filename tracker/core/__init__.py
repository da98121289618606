"""The pure domain: days and deadlines, reference tags, errors, inert text. No I/O, no
clock: "today" and settings come in as arguments.
"""
