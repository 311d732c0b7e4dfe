"""Tenants, API keys and scopes: who may call the service, and whose data they see."""
