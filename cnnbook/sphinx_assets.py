"""A Sphinx extension of the book's build: pages that a browser opens without a console error.

Jupyter Book 1 always loads ``sphinx_thebe``, which adds an inline script declaring
``const THEBE_JS_URL`` through ``app.add_js_file(None, body=...)``. Sphinx 7.4 stores such an
inline script twice (with ``filename=None`` when it is added, and again with ``filename=''`` when
the HTML builder's ``prepare_writing`` re-adds its registry's scripts, so the two copies do not
compare equal), so every page declared the constant twice and the browser logged
``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``. This extension, listed in
``_config.yml`` under ``sphinx.extra_extensions``:

- removes repeated inline scripts (same body and attributes) from every page;
- leaves out Thebe's scripts and style sheet while the book's launch buttons do not use Thebe
  (``launch_buttons.thebe: false``): they only pointed at ``unpkg.com``;
- adds the book's style sheets from ``cnnbook/static/``: code cells whose 88-character lines fit
  the column (``code-width.css``) and a sans-serif CJK font for the Chinese terms
  (``cjk-fonts.css``), and its icon (``favicon.svg``; without one the browser asks the server for
  ``/favicon.ico`` and logs a 404). They live in the package, not in ``_static/``, so the student
  edition, which copies ``cnnbook/``, gets them too.

``tests/test_browser.py`` opens every page in Chromium and fails on any console error.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC", "setup"]

STATIC = Path(__file__).with_name("static")
STYLE_SHEETS = ("code-width.css", "cjk-fonts.css")

_THEBE_ASSETS = ("sphinx-thebe.js", "sphinx-thebe.css")


def _thebe_in_use(app) -> bool:
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {}) or {}
    thebe_config = getattr(app.config, "thebe_config", {}) or {}
    return bool(launch.get("thebe")) or bool(thebe_config.get("always_load"))


def _is_thebe(asset) -> bool:
    name = str(asset.filename or "")
    body = str(asset.attributes.get("body", ""))
    return name.endswith(_THEBE_ASSETS) or "THEBE_JS_URL" in body


def clean_assets(app, pagename, templatename, context, doctree) -> None:
    """Drop a page's repeated inline scripts, and Thebe's assets when Thebe is off.

    ``context["script_files"]`` and ``context["css_files"]`` are the builder's lists, which it
    restores after each page; they are edited in place.
    """
    keep_thebe = _thebe_in_use(app)
    scripts = context.get("script_files")
    if scripts is not None:
        seen = set()
        kept = []
        for asset in scripts:
            attributes = tuple(sorted((k, str(v)) for k, v in asset.attributes.items()))
            key = (asset.filename or "", attributes)
            if key in seen or (not keep_thebe and _is_thebe(asset)):
                continue
            seen.add(key)
            kept.append(asset)
        scripts[:] = kept
    styles = context.get("css_files")
    if styles is not None and not keep_thebe:
        styles[:] = [css for css in styles if not _is_thebe(css)]


def add_static_files(app, config) -> None:
    """The book's style sheets and icon (an icon set in the configuration is kept)."""
    config.html_static_path.append(str(STATIC))
    if not config.html_favicon:
        config.html_favicon = str(STATIC / "favicon.svg")


def setup(app):
    app.connect("config-inited", add_static_files)
    for sheet in STYLE_SHEETS:
        app.add_css_file(sheet)
    app.connect("html-page-context", clean_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
