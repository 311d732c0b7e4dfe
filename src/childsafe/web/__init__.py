"""The screening service: a FastAPI app over screening, banks and tenancy (a leaf layer)."""
