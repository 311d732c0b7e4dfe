"""Provenance marking of generated images: invisible watermark and C2PA manifest."""
