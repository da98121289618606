"""The app of one `tracker serve --workers N` process: the workspace opened again from the
environment that the serving process left for it (uvicorn starts each worker afresh)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI

from tracker.config.loading import load_settings
from tracker.jobs.watch import WatchState
from tracker.services.workspace import Workspace

SPEC = "TRACKER_SERVE_WORKER"  # {"workspace": path, "https": bool, "behind_proxy": bool}


def app() -> FastAPI:
    """uvicorn's app factory for a worker process."""
    from tracker.web.app import create_app

    spec = json.loads(os.environ[SPEC])
    env = dict(os.environ)
    ws = Workspace(load_settings(Path(spec["workspace"]), env), env=env,
                   actor=spec.get("actor", "staff"))
    made = create_app(ws, https=spec["https"], behind_proxy=spec["behind_proxy"])
    made.state.watch = WatchState()  # the watcher runs elsewhere (--workers needs --no-watch)
    return made
