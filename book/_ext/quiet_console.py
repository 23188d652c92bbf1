"""Pages that log nothing to the browser's console: the browser tests require it.

- sphinx-thebe, which Jupyter Book always loads, is dropped from the pages. The book has no
  live-code button, and the inline script sphinx-thebe registers twice declares a ``const`` twice,
  which is an error on every page. Other repeated inline scripts are dropped as well.
- The theme's colour mode defaults to "auto". Without a default, pydata-sphinx-theme reports
  "Got invalid theme mode" to a first-time visitor.
- The book has a favicon, so browsers' automatic request for one does not end in a 404.
"""

import pathlib


def tidy_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    seen, kept = set(), []
    for js in scripts:
        name = getattr(js, "filename", None)
        attributes = getattr(js, "attributes", {})
        if "thebe" in str(name or "").lower() or "THEBE" in attributes.get("body", ""):
            continue
        key = (name, tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def set_defaults(app, config):
    config.html_context.setdefault("default_mode", "auto")  # read by pydata-sphinx-theme
    favicon = pathlib.Path(app.confdir) / "book" / "_static" / "favicon.svg"
    if not config.html_favicon and favicon.is_file():
        config.html_favicon = str(favicon)


def setup(app):
    app.connect("config-inited", set_defaults)
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", tidy_scripts, priority=1)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
