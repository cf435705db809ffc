"""Imported once by the articles pool's fork server: what its workers share instead of each building it."""

from __future__ import annotations

import gc

from flows.stages.matchers import get_matcher
from transforms.extract import warm_extractor

get_matcher(None)  # the default taxonomy's; a run with another loads its own in each worker
warm_extractor()  # jusText's stoplists and the language model, which each worker would build again
gc.collect()
gc.freeze()  # else the collector's writes to these objects' headers copy their pages into every worker
