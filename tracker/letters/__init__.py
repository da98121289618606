"""Letter templates: loading, variables and rendering (text, HTML).
"""
