"""Iceberg transactions for every commit the lake makes.

pyiceberg's ``Transaction.table_metadata`` applies the staged updates to the table's metadata
and deep-copies the result on every read, and a commit reads it dozens of times; with a day of
hourly snapshots in the metadata, those copies were most of an hourly bronze load's time. The
metadata only changes when an update is staged, and pyiceberg's metadata models are frozen, so
:class:`Transaction` computes it once per staged state.
"""

from __future__ import annotations

from pyiceberg.table import Table
from pyiceberg.table import Transaction as IcebergTransaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import TableUpdate, update_table_metadata


class Transaction(IcebergTransaction):
    _computed: tuple[TableMetadata, tuple[TableUpdate, ...], TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        computed = self._computed
        if computed is None or computed[0] is not base or computed[1] is not updates:
            computed = (base, updates, update_table_metadata(base, updates))
            self._computed = computed
        return computed[2]


def begin(table: Table) -> Transaction:
    """A transaction on ``table``, committed when its ``with`` block ends without error."""
    return Transaction(table)
