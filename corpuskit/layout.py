"""The names of an artifact's files and folders, and of corpuskit's working files.

Every module that reads or writes an artifact takes these names from here, so the layout
is written once. An artifact built into ``OUT`` holds::

    OUT/README.md                      the dataset card (CARD)
    OUT/corpuskit.json                 the manifest (MANIFEST): config, counts, checksums
    OUT/languages.svg                  the card's chart of articles per language (CHART)
    OUT/croissant.json                 Croissant metadata for ML tools (CROISSANT)
    OUT/data/{train,eval}-NNNNN-of-NNNNN.parquet      kept articles (DATA_DIR)
    OUT/rejects/rejects-NNNNN-of-NNNNN.parquet         rejected records (REJECTS_DIR)
    OUT/duplicates/duplicates-NNNNN-of-NNNNN.parquet   dropped copies (DUPLICATES_DIR)
"""

from __future__ import annotations

#: The manifest file: its presence (with the fields it records) makes a corpuskit artifact.
MANIFEST = "corpuskit.json"
#: The dataset card (Hugging Face reads its YAML header).
CARD = "README.md"
#: The card's chart: articles per language in each split.
CHART = "languages.svg"
#: Croissant (MLCommons) metadata: the same schema, for ML tools; the Hub serves it too.
CROISSANT = "croissant.json"
#: The folders of the three Parquet configs, each named like its config's files.
DATA_DIR = "data"
REJECTS_DIR = "rejects"
DUPLICATES_DIR = "duplicates"
#: Inside the staging folder: the map stage's spill of kept rows (removed before the swap).
WORK_DIR = ".work"

#: Every name corpuskit uses for its own work inside or beside an output folder starts
#: with this (see corpuskit.output.staging).
WORK_PREFIX = ".corpuskit-"
TMP_MARK = ".corpuskit-tmp-"
OLD_MARK = ".corpuskit-old-"
#: Inside a folder swapped in place: the new artifact, moved here once complete. Its
#: existence is the commit point of the swap.
NEW_MARK = ".corpuskit-new-"
LOCK_NAME = ".corpuskit-lock"
