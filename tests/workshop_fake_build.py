"""A stand-in for one workshop notebook's build, run in the build's worker processes:
it records when it ran and which notebooks had succeeded before it started."""
import json
import time
from pathlib import Path

SECONDS = {"01_crm_assessment": 0.4, "02_clv_modelling": 1.2, "03_satisfaction_gaps": 0.2,
           "04_phase_roi": 0.6}   # long enough for two spawned workers to overlap on a busy machine


def build(stem, out, data, seed, done, timeout):
    started = time.time()
    time.sleep(SECONDS[stem])
    failed = (Path(out) / f"fail-{stem}").exists()
    (Path(out) / f"{stem}.json").write_text(json.dumps(
        {"started": started, "finished": time.time(), "done": done}))
    return {"stem": stem, "error": "ValueError: bad" if failed else None,
            "seconds": time.time() - started}, None
