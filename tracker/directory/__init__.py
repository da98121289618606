"""The platform directory (platforms, their contacts and the supervisory authorities)
and its data files.
"""
