"""Régie: tenant accounts as the public treasury confirmed them, for rent collectors on any phone."""
