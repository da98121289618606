"""HTML pages: the one Jinja2 environment (autoescaped) and the base layout every page extends.

    rendering     the environment, its escaping, render_page(name, context)
    templates/    base.html (blocks: title, meta, style, body_attributes, body) and the pages
                  built on it: letter.html, weekly_report.html, evidence_timeline.html

The letters, the weekly report and the evidence timeline render here; the web face extends the
same ``base.html`` from an environment made with ``create_environment(its_templates_dir)``.
"""

from tracker.pages.rendering import create_environment, environment, render_page

__all__ = ["create_environment", "environment", "render_page"]
