"""Reading the big YAML documents of the start path -- the OpenAPI specs, some 300 KB together -- with
PyYAML's libyaml loader (``CSafeLoader``, shipped in PyYAML's wheels) when it is there: it parses
about six times faster than the pure-Python ``SafeLoader`` and builds the same objects, through the
same SafeConstructor and resolver.  A text libyaml refuses is read again with the pure loader, so a
broken spec is reported in the words it always was (libyaml's messages differ, and would be the ones
shown otherwise).  config.yaml keeps the pure loader: it is small, and its errors name file:line from
the pure loader's marks (wfgateway.config).
"""

from __future__ import annotations

from typing import Any

import yaml

FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_document(text: str | bytes) -> Any:
    """The YAML document ``text`` holds, as ``yaml.safe_load`` reads it; its YAMLError if it holds none."""
    try:
        return yaml.load(text, Loader=FAST_LOADER)  # libyaml's SafeLoader when present
    except yaml.YAMLError:
        if FAST_LOADER is yaml.SafeLoader:
            raise
        return yaml.safe_load(text)  # the pure loader's own error (or the document, should it read one)
