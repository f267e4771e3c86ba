"""The write side: everything that touches the artifact's folder.

``staging.py`` (build into a temporary folder, swap it in, one build per folder via
``lock.py``), ``spill.py`` (kept rows on disk until the split is known), ``write.py``
(the write stage), ``writer.py`` (Parquet shards and checksums), ``card.py`` (the dataset
card), ``croissant.py`` (``croissant.json``, the Croissant metadata), ``manifest.py``
(``corpuskit.json``, and pins from ``--previous``), ``verify.py`` (``corpuskit verify``).
File and folder names come from :mod:`corpuskit.layout`.
"""
