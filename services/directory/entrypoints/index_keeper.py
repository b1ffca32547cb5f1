"""Readiness of the search index: it answers, or it is being built from the database in
the background (a new machine, a new pod, an older layout) and is not ready yet."""
from __future__ import annotations

import threading
from typing import Callable

from ..service_layer.indexing import Indexing


class IndexKeeper:
    def __init__(self, indexing: Indexing, database_ready: Callable[[], object]):
        self.indexing = indexing
        self.database_ready = database_ready
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Readiness: the index answers, or is being built (in the background) and is not ready."""
        reason = self.indexing.index.rebuild_reason()
        if reason:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self.indexing.build_if_needed, args=(self.database_ready,),
                                                daemon=True, name="index-build")
                self._thread.start()
            raise RuntimeError(f"{reason}: being built from the database")
        self.indexing.index.check()
