"""Banks: named, versioned hash lists, their file formats, and import/export.

The store itself lives in ``childsafe.storage`` (a leaf the domain never imports); these
functions take any :class:`BankStore`.
"""

from childsafe.banks.base import (
    AllowedHash,
    Bank,
    BankChanges,
    BankEntry,
    BankStore,
    ImportRecord,
    ImportResult,
)
from childsafe.banks.batch import RecordBatch
from childsafe.banks.formats import FORMATS, BankFormat, detect_format, get_format
from childsafe.banks.importer import FileImportResult, export_bank, import_file, remove_hashes

__all__ = [
    "FORMATS",
    "AllowedHash",
    "Bank",
    "BankChanges",
    "BankEntry",
    "BankFormat",
    "BankStore",
    "FileImportResult",
    "ImportRecord",
    "ImportResult",
    "RecordBatch",
    "detect_format",
    "export_bank",
    "get_format",
    "import_file",
    "remove_hashes",
]
