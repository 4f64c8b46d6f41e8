"""The report's landing page: the key-numbers table, then every figure with its caption.

``results/report/index.html`` is one self-contained HTML file (figures linked by
relative paths, so the results folder can be moved or copied as a whole). Snakemake's
own report (``results/report.html``) keeps the rule graph, the provenance and the
per-file views; this page is where a reader starts.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from glass2epm.core.io import write_text

_STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #bbb;padding:3px 8px;text-align:left}
th{background:#eee}figure{margin:2em 0}img{max-width:100%}figcaption{font-size:0.95em;margin-top:0.5em}"""


def _notes(path) -> str:
    notes = Path(path).with_suffix(".notes.txt")
    if not notes.exists():
        return ""
    lines = [ln for ln in notes.read_text().splitlines() if ln.strip()]
    return "<ul>" + "".join(f"<li>{html.escape(ln)}</li>" for ln in lines) + "</ul>"


def write_index(table, figures, output, title: str = "glass2epm: key numbers and figures",
                tables=()) -> Path:
    """Write the landing page.

    ``table``: the key-numbers TSV (``summary`` rule); ``tables``: further (heading, TSV path)
    pairs shown after it (the ``paper_scale`` comparison); ``figures``: (image path, caption)
    pairs, in the order shown; ``output``: the HTML file (written atomically). A figure's
    measured verdicts, written by its rule beside it as ``<name>.notes.txt`` (one per line),
    follow its caption as a list.
    """
    output = Path(output)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for heading, path in [("Key numbers", table), *tables]:
        rows = pd.read_csv(path, sep="\t")
        parts += [f"<h2>{html.escape(heading)}</h2>", rows.to_html(index=False, na_rep="—", escape=True, border=0)]
    if figures:
        parts.append("<h2>Figures</h2>")
    for path, caption in figures:
        rel = os.path.relpath(Path(path).resolve(), output.resolve().parent)
        parts.append(f"<figure><img src='{html.escape(rel)}' alt='{html.escape(Path(path).name)}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption>{_notes(path)}</figure>")
    parts.append("</body></html>\n")
    return write_text(output, "\n".join(parts))
