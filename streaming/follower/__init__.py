"""Reading the stream: one shard follower behind every reader of it (delivery, real time).

See :mod:`streaming.follower.follower` for what it owns and :mod:`streaming.follower.readers`
for how a shard is read without ever giving up on the stream.
"""

from streaming.follower.checkpoints import Checkpoint, CheckpointStore
from streaming.follower.follower import (
    FollowerError,
    StreamFollower,
    read_follower_status,
    stop_on_signals,
)
from streaming.follower.readers import ShardBatch, ShardRecord

__all__ = [
    "Checkpoint",
    "CheckpointStore",
    "FollowerError",
    "ShardBatch",
    "ShardRecord",
    "StreamFollower",
    "read_follower_status",
    "stop_on_signals",
]
