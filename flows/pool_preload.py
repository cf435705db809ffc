"""Imported by the articles stage's fork server only: it makes the workers' shared state before they fork.

The taxonomy comes in flows.articles.POOL_TAXONOMY_VARIABLE. A failure here costs only the sharing: each
worker then loads what it needs itself, as it would without a fork server.
"""

from __future__ import annotations

import os
import sys

from flows.articles import POOL_TAXONOMY_VARIABLE, prepare_worker_state

if POOL_TAXONOMY_VARIABLE in os.environ:  # set by flows.articles.choose_pool_context, for its server only
    try:
        prepare_worker_state(os.environ[POOL_TAXONOMY_VARIABLE] or None)
    except Exception as error:  # the server must start all the same: its import errors are not reported
        print(f"newsdesk fork server: workers will load their own state ({error!r})", file=sys.stderr)
