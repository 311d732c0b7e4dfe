"""Platform actions: signed takedown/suspend webhooks, re-upload prevention, hash export."""
