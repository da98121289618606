"""Letter templates: loading, variables and rendering (text, HTML).

    loading     find the templates, read their front matter and declared variables; --var
    rendering   render a letter (sandboxed, strict): subject, text, and its HTML page
"""
