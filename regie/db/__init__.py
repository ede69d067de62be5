"""Tortoise ORM models, one module per aggregate. Import them as modules: ``from regie.db import ledger``."""

MODEL_MODULES = [
    "regie.db.places",
    "regie.db.tenants",
    "regie.db.ledger",
    "regie.db.treasury",
    "regie.db.people",
    "regie.db.imports",
    "regie.db.matching",
    "regie.db.oauth",
    "regie.db.auth",
]
