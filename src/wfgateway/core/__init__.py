"""Canonical, vendor-neutral vocabulary shared by every layer: errors and statuses."""
