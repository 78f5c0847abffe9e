"""Hand labels as JSON lines: one object per message or page, in `labels/*.jsonl`."""
import json
import sys
from pathlib import Path


def load_labels(folder: Path, key: str) -> dict:
    """Every label object under `folder/*.jsonl`, by its `key` field; a broken line stops
    the run with its file and line."""
    labels = {}
    for f in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if line.strip():
                try:
                    m = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{f}:{n}: {e}")
                labels[m[key]] = m
    return labels
