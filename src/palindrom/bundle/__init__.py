"""Databricks Asset Bundle resources generated from each pipeline's spec and conf/<target>.yml.

``databricks.yml`` names :func:`load_resources` under ``python: resources:``; the Databricks CLI calls
it for the selected target. ``python -m palindrom.bundle`` writes and checks the generated snapshot
(``resources/<target>.generated.yml``) and prints a change's deployment scope.
"""

from palindrom.bundle.resources import load_resources

__all__ = ["load_resources"]
