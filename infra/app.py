"""Synthesise the deployment into infra/cdk.out (`make -C infra synth`; the CDK CLI runs it too)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parent
# the repository (streaming.contracts.settings) and clickstream_infra
for path in (INFRA.parent, INFRA):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from clickstream_infra.app import build, deployment_settings, new_app  # noqa: E402
from clickstream_infra.stacks.ingest import LAYER_DIR  # noqa: E402

if __name__ == "__main__":
    app = new_app(outdir=os.environ.get("CDK_OUTDIR", str(INFRA / "cdk.out")))
    deployment = build(deployment_settings(), app=app)
    deployment.app.synth()
    if not any(LAYER_DIR.glob("python/*")):
        print(
            "note: the ingest function's dependency layer is empty; "
            "`make -C infra layer` builds it before a deploy",
            file=sys.stderr,
        )
