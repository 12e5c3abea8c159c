"""A lesson as one self-contained HTML page: every figure embedded, the maths typeset offline.

``jupyter nbconvert --to html`` loads MathJax 2.7 from cdnjs (``HTMLExporter.mathjax_url``) and
require.js from a CDN, so without network the page shows raw ``$...$``. :func:`export_html` uses the same
exporter and lab template, drops the require.js tag (only widget pages need it; a headless run builds no
widgets) and inlines a local MathJax 3 (``static/mathjax-3.2.2-tex-svg-full.js``, Apache-2.0, the
single-file SVG build: its fonts are paths inside the script, so nothing else is fetched). Figures are
already ``data:`` PNGs in the lab template's output.

>>> export_html("notebooks/01_h_divergence_vs_wasserstein.ipynb", "lesson01.html")  # doctest: +SKIP

Or from a shell: ``python -m alkit.lessons.export NOTEBOOK.ipynb OUT.html [--execute]``.
"""

from __future__ import annotations

import pathlib
import sys

__all__ = ["MATHJAX_JS", "export_html"]

MATHJAX_JS = pathlib.Path(__file__).resolve().parent / "static" / "mathjax-3.2.2-tex-svg-full.js"

_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: 'global'}
};
</script>
<script>{{ resources.alkit_mathjax_js }}</script>
{%- endblock html_head_js_mathjax -%}
"""


def export_html(notebook: str | pathlib.Path, out: str | pathlib.Path, *, execute: bool = False,
                timeout: int = 600) -> pathlib.Path:
    """Write ``notebook`` as a self-contained HTML page to ``out`` (executed first when ``execute``).

    Execution goes through nbclient, so lessons draw static figures (no widget frontend is attached).
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    notebook, out = pathlib.Path(notebook), pathlib.Path(out)
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook at {notebook}")
    if not MATHJAX_JS.is_file():
        raise FileNotFoundError(f"the bundled MathJax is missing: {MATHJAX_JS}")
    nb = nbformat.read(notebook, as_version=4)
    if execute:
        from nbclient import NotebookClient

        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    exporter = HTMLExporter(template_name="lab", extra_loaders=[jinja2.DictLoader({"alkit_offline.j2": _TEMPLATE})],
                            template_file="alkit_offline.j2")
    body, _ = exporter.from_notebook_node(nb, resources={"alkit_mathjax_js": MATHJAX_JS.read_text()})
    out.write_text(body, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    execute = "--execute" in args
    args = [a for a in args if a != "--execute"]
    if len(args) != 2:
        print("usage: python -m alkit.lessons.export NOTEBOOK.ipynb OUT.html [--execute]", file=sys.stderr)
        return 2
    print(export_html(args[0], args[1], execute=execute))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
