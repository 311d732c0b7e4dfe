"""Hashing: hashers (md5, sha1, sha256, pdq, ...) and the entry points that run them."""

from childsafe.hashing.api import hash_file, hash_paths
from childsafe.hashing.base import Hasher
from childsafe.hashing.registry import get_hasher

__all__ = ["Hasher", "get_hasher", "hash_file", "hash_paths"]
