"""Privacy requests in the UI: each erase is a run of ``privacy_erase`` that materialises
``lake.privacy_requests`` with what it removed (no personal data: the subject appears only as
the salted hash the audit table keeps). The run config names the user exactly as the command
line does; a failed run is resumed by launching it again with the same config."""

import dagster as dg

from clickstream_orchestration.assets.landing import OWNER
from clickstream_orchestration.resources import LakehouseResource
from lakehouse.privacy.audit import PRIVACY_REQUESTS
from lakehouse.privacy.erase import erase_user
from lakehouse.privacy.subject import Subject, from_client_hash, from_server_hash

PRIVACY_REQUESTS_KEY = dg.AssetKey(["lake", PRIVACY_REQUESTS.name])


class PrivacyEraseConfig(dg.Config):
    user_hash: str | None = None
    """The server-side hash the lake stores (``sha256:<64 hex>``)."""
    client_hash: str | None = None
    """The hash the client sent; re-keyed with the server's HMAC secret as the ingest does."""


def _subject(config: PrivacyEraseConfig, lakehouse: LakehouseResource) -> Subject:
    if (config.user_hash is None) == (config.client_hash is None):
        raise dg.Failure("name the user with exactly one of user_hash or client_hash")
    if config.user_hash is not None:
        return from_server_hash(config.user_hash)
    assert config.client_hash is not None
    return from_client_hash(lakehouse.settings(), config.client_hash)


@dg.asset(
    key=PRIVACY_REQUESTS_KEY,
    description=(
        "The audit trail of privacy requests: one row per completed erase (request id, salted "
        "subject hash, times, rows removed per table, landing objects rewritten). Each run of "
        "privacy_erase removes one user from every layer and appends its row."
    ),
    group_name="privacy",
    kinds={"iceberg", "python"},
    owners=[OWNER],
    code_version="privacy-1",
)
def privacy_requests(
    context: dg.AssetExecutionContext, config: PrivacyEraseConfig, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    subject = _subject(config, lakehouse)
    result = erase_user(lakehouse.settings(), subject, progress_listener=context.log.info)
    progress = result.progress
    return dg.MaterializeResult(
        metadata={
            "request_id": result.request_id,
            "subject_hash": result.subject_hash,
            "resumed": result.resumed,
            "rows_removed": dg.MetadataValue.json(progress.rows_removed),
            "objects_rewritten": len(progress.rewritten_objects),
            "dead_letters_removed": progress.dead_letters_removed,
            "realtime_rows_removed": progress.realtime_rows_removed,
            "stream_records_removed": progress.stream_records_removed,
            "rebuilt_days": dg.MetadataValue.json(sorted(progress.event_days)),
            "orphan_files_removed": progress.orphan_files_removed,
        }
    )
